"""What the agents' list and ticket pages show beyond the tickets themselves: the choices of the
bulk form, saved views, and the customer's context in the ticket's sidebar."""

from __future__ import annotations

from typing import Any

from telemetron.db.scoped import Scoped
from telemetron.members import service as members
from telemetron.members.auth import SignedIn
from telemetron.web import saved_views, ticket_data


def list_page(scoped: Scoped, member: SignedIn, filters: ticket_data.ListFilters) -> dict[str, Any]:
    """The list's page (``ticket_data.list_page``) with the members the bulk form can assign to and
    the member's saved views."""
    data = ticket_data.list_page(scoped, member, filters)
    data["members"] = members.list_members(scoped)
    data["views"] = saved_views.list_views(scoped, member)
    return data
