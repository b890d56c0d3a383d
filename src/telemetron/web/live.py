"""Live updates without a reload, by polling a cheap "changed since" check (the script polls every
few seconds and fetches the page again only when something changed), and who else is on a ticket.

Why polling rather than server-sent events: a poll is one indexed read (the organization's newest
``updated_at``: every new ticket, message and change moves it), needs no connection held open per
page (200 agents' tabs are 200 idle clients, not 200 open streams through a proxy), and works with
any number of server processes, as everything it reads is in the database. Presence ("Ann is
viewing / replying") is a row per agent and ticket, refreshed by the open page's heartbeat and
considered gone after ``PRESENCE_SECONDS``. Figures: bench/README.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func
from starlette.responses import JSONResponse, Response

from telemetron.clock import utcnow
from telemetron.db.scoped import ORG, PerDialect, Scoped, tenant_delete, tenant_select
from telemetron.db.tables import members, ticket_presence, tickets
from telemetron.members.auth import SignedIn
from telemetron.tickets.serializers import canonical_ticket_id, iso, ticket_not_found
from telemetron.web.pages import Web, page

POLL_SECONDS = 5
PRESENCE_SECONDS = 30  # a page that stopped its heartbeat for this long was closed

_t = tickets.c
_p = ticket_presence.c
_NEWEST = tenant_select(tickets, func.max(_t.updated_at))
_TICKET_UPDATED = tenant_select(tickets, _t.updated_at).where(_t.id == bindparam("ticket_id"))
_OTHERS = (
    tenant_select(ticket_presence, members.c.name, _p.replying)
    .join_from(ticket_presence, members, (members.c.id == _p.member_id)
               & (members.c.organization_id == _p.organization_id))
    .where(_p.ticket_id == bindparam("ticket_id"), _p.member_id != bindparam("member_id"),
           _p.seen_at > bindparam("since"))
    .order_by(members.c.name)
)


def _upsert(dialect_insert):
    stmt = dialect_insert(ticket_presence).values(organization_id=bindparam(ORG))
    return stmt.on_conflict_do_update(index_elements=["ticket_id", "member_id"],
                                      set_={"replying": stmt.excluded.replying, "seen_at": stmt.excluded.seen_at})


_HEARTBEAT = PerDialect(_upsert)
# A member's rows for pages closed since: deleted at the member's next heartbeat, so the table
# holds about one row per open ticket page, never one per ticket ever viewed.
_FORGET_CLOSED = tenant_delete(ticket_presence).where(_p.member_id == bindparam("member_id"),
                                                      _p.seen_at < bindparam("since"))


def list_state(scoped: Scoped, member: SignedIn) -> dict[str, Any]:
    """The organization's newest change: the list is out of date when this moves."""
    return {"token": iso(scoped.execute(_NEWEST).scalar())}


def ticket_state(scoped: Scoped, member: SignedIn, raw_id: str, *, heartbeat: bool, replying: bool) -> dict[str, Any]:
    """The ticket's last change and the other agents on it; records this agent's heartbeat."""
    ticket_id = canonical_ticket_id(raw_id)
    updated = scoped.execute(_TICKET_UPDATED, {"ticket_id": ticket_id}).scalar() if ticket_id else None
    if updated is None:
        raise ticket_not_found()
    now = utcnow()
    if heartbeat:
        scoped.execute(_FORGET_CLOSED, {"member_id": member.member_id,
                                        "since": now - timedelta(seconds=PRESENCE_SECONDS)})
        scoped.execute(_HEARTBEAT, {"ticket_id": ticket_id, "member_id": member.member_id, "replying": replying,
                                    "seen_at": now})
    others = scoped.execute(_OTHERS, {"ticket_id": ticket_id, "member_id": member.member_id,
                                      "since": now - timedelta(seconds=PRESENCE_SECONDS)}).all()
    return {"token": iso(updated), "others": [{"name": name, "replying": bool(r)} for name, r in others]}


def _json(web: Web, data: dict) -> Response:
    return web.respond(JSONResponse({**data, "pollSeconds": POLL_SECONDS}))


@page()
async def live_list(web: Web) -> Response:
    return _json(web, await web.run(list_state))


@page()
async def live_ticket(web: Web) -> Response:
    params = web.request.query_params
    data = await web.run(ticket_state, web.request.path_params["ticket_id"], heartbeat=params.get("heartbeat") == "1",
                         replying=params.get("replying") == "1")
    return _json(web, data)
