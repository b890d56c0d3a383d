"""Bulk actions on the ticket list: assign, status, priority or category for the tickets an agent
ticked, or for every ticket matching the list's filters.

Each ticket goes through ``ticket_data.update``, the same unit of work as one ticket's form, so
a status change notifies and an agent's category teaches the categorizer exactly as a single
change does. "All matching" walks the list's own pages (``ticket_list.list_page``), so it means
whatever the list shows for those filters, however the list's filters evolve.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response

from telemetron.db.scoped import Scoped
from telemetron.errors import InvalidRequest
from telemetron.members.auth import SignedIn
from telemetron.tickets.serializers import canonical_ticket_id
from telemetron.web import ticket_data, ticket_list
from telemetron.web.pages import Web, page

MAX_BULK = 500  # one transaction; larger sets are done in a few passes


@dataclasses.dataclass(frozen=True, slots=True)
class BulkChange:
    status: str | None = None
    priority: str | None = None
    category_id: str | None = None  # "" removes the category
    assignee_id: str | None = None  # "" unassigns, "me" the agent sending the form

    @classmethod
    def from_form(cls, form) -> BulkChange:
        def keep_or(name: str) -> str | None:
            value = form.get(name)
            return value or None

        category = form.get("category")
        assignee = form.get("assignee")
        return cls(
            status=keep_or("status"),
            priority=keep_or("priority"),
            category_id=None if not category else ("" if category == "none" else category),
            assignee_id=None if not assignee else "" if assignee == "unassigned" else assignee,
        )

    def empty(self) -> bool:
        return all(v is None for v in dataclasses.astuple(self))


def matching_ids(scoped: Scoped, member: SignedIn, filters: ticket_list.ListFilters, limit: int) -> list[str]:
    """The ids of the tickets the list shows for ``filters``, page after page, at most ``limit``."""
    found: list[str] = []
    filters = dataclasses.replace(filters, cursor="")
    while len(found) < limit:
        data = ticket_list.list_page(scoped, member, filters)
        found.extend(t["id"] for t in data["tickets"])
        if not data["next_cursor"]:
            break
        filters = dataclasses.replace(filters, cursor=data["next_cursor"])
    return found[:limit]


def apply(scoped: Scoped, member: SignedIn, *, ticket_ids: list[str], filters: ticket_list.ListFilters | None,
          change: BulkChange) -> int:
    """Apply ``change`` to the ticked tickets (or, with ``filters``, to all matching); returns how
    many tickets changed. An id that is not this organization's ticket is a 404, and nothing changes."""
    if change.empty():
        raise InvalidRequest("Choose what to change (assignee, status, priority or category) first.", field="action")
    if change.assignee_id == "me":
        change = dataclasses.replace(change, assignee_id=member.member_id)
    if filters is not None:
        ticket_ids = matching_ids(scoped, member, filters, MAX_BULK)
    if not ticket_ids:
        raise InvalidRequest("Tick at least one ticket, or choose all matching tickets.", field="ticket")
    if len(ticket_ids) > MAX_BULK:
        raise InvalidRequest(f"At most {MAX_BULK} tickets at a time.", field="ticket")
    changed = 0
    for raw_id in dict.fromkeys(ticket_ids):
        if canonical_ticket_id(raw_id) is None:
            raise InvalidRequest(f"'{raw_id[:40]}' is not a ticket id", field="ticket")
        done = ticket_data.update(scoped, member, raw_id, status=change.status, priority=change.priority,
                                  category_id=change.category_id, assignee_id=change.assignee_id)
        changed += bool(done)
    return changed


@page()
async def bulk_update(web: Web) -> Response:
    form = web.form
    list_query = form.get("list_query")[:2000]
    filters = None
    if form.get("scope") == "all":
        filters = ticket_list.ListFilters.from_query(QueryParams(parse_qsl(list_query)))
    changed = await web.run(apply, ticket_ids=form.getlist("ticket"), filters=filters,
                            change=BulkChange.from_form(form))
    back = dict(parse_qsl(list_query))
    back.pop("cursor", None)
    return web.redirect(f"/tickets?{urlencode({**back, 'bulk': str(changed)})}")


def done(web: Web) -> str | None:
    """The list's message after a bulk action (a number in the URL, never text a link could forge)."""
    count = web.request.query_params.get("bulk", "")
    if not count.isdigit():
        return None
    return f"{int(count)} ticket{'' if count == '1' else 's'} updated."
