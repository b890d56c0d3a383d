"""What the agents' list and ticket pages show beyond the tickets themselves: the choices of the
bulk form, saved views, and the customer's context in the ticket's sidebar."""

from __future__ import annotations

from typing import Any

from telemetron.db.scoped import Scoped
from telemetron.macros import service as macros
from telemetron.members import service as members
from telemetron.members.auth import SignedIn
from telemetron.tickets.update import clean_tags
from telemetron.web import customer_data, live, saved_views, ticket_data, ticket_list


def list_page(scoped: Scoped, member: SignedIn, filters: ticket_list.ListFilters) -> dict[str, Any]:
    """The list's page (``ticket_list.list_page``) with the members the bulk form can assign to and
    the member's saved views."""
    data = ticket_list.list_page(scoped, member, filters)
    data["members"] = members.list_members(scoped)
    data["views"] = saved_views.list_views(scoped, member)
    data["live_token"] = live.list_state(scoped, member)["token"]
    return data


def ticket_page(scoped: Scoped, member: SignedIn, raw_id: str, macro_id: str = "") -> dict[str, Any]:
    """The ticket page (``ticket_data.ticket_page``) with the customer's other open tickets and
    devices, the organization's macros, and the values the one form starts with: the ticket's,
    or those of the macro the agent chose (its reply, placeholders filled, and its changes)."""
    data = ticket_data.ticket_page(scoped, member, raw_id)
    ticket = data["ticket"]
    data.update(customer_data.sidebar(scoped, ticket["customer"]["id"], ticket["id"]))
    data["macros"] = macros.list_macros(scoped)
    data["presence"] = live.ticket_state(scoped, member, ticket["id"], heartbeat=True, replying=False)["others"]
    data["form"] = {"status": ticket["status"], "priority": ticket["priority"],
                    "category_id": data["details"]["category_id"] or "",
                    "assignee_id": ticket["assignee"]["id"] if ticket["assignee"] else "",
                    "tags": list(ticket["tags"]), "draft": None, "macro": None}
    if macro_id:
        _apply_macro(data, macros.get_macro(scoped, macro_id[:40]), member)
    return data


def _apply_macro(data: dict[str, Any], macro: dict, member: SignedIn) -> None:
    ticket, form, actions = data["ticket"], data["form"], macro["actions"]
    form["macro"] = macro
    number = f"#{ticket['number']}" if ticket.get("number") else ticket["id"]
    form["draft"] = macros.expand(macro["content"], customer_name=ticket["customer"]["name"],
                                  ticket_number=number, agent_name=member.name) or None
    for field in ("status", "priority"):
        form[field] = actions.get(field, form[field])
    if "category" in actions:
        by_name = {c["name"].lower(): c["id"] for c in data["categories"]}
        form["category_id"] = by_name.get(actions["category"].lower(), form["category_id"])
    if "assignee" in actions:
        form["assignee_id"] = {"me": member.member_id, "unassigned": ""}.get(actions["assignee"], actions["assignee"])
    if "tags" in actions:
        form["tags"] = clean_tags([*form["tags"], *actions["tags"]])
