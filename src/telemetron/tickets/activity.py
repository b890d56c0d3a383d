"""Which customer messages a member has not seen: a marker per (member, ticket), moved when the
member opens the ticket. A ticket is unseen by a member when its customer wrote after that
(``tickets.last_customer_message_at``, kept by ``tickets.update.add_message``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam

from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_select, tenant_update, tenant_upsert_ignore
from telemetron.db.tables import ticket_seen

_s = ticket_seen.c
_INSERT = tenant_upsert_ignore(ticket_seen, "member_id", "ticket_id", returning=[_s.ticket_id])
_MOVE = (
    tenant_update(ticket_seen)
    .where(_s.member_id == bindparam("m_id"), _s.ticket_id == bindparam("t_id"))
    .values(seen_at=bindparam("now"))
)
_SEEN = tenant_select(ticket_seen, _s.ticket_id, _s.seen_at).where(
    _s.member_id == bindparam("m_id"), _s.ticket_id.in_(bindparam("ticket_ids", expanding=True))
)


def mark_seen(scoped: Scoped, member_id: str, ticket_id: str, *, now: datetime | None = None) -> None:
    """The member has seen the ticket as it is now."""
    now = now or utcnow()
    inserted = scoped.execute(_INSERT, {"member_id": member_id, "ticket_id": ticket_id, "seen_at": now}).first()
    if inserted is None:
        scoped.execute(_MOVE, {"m_id": member_id, "t_id": ticket_id, "now": now})


def unseen(scoped: Scoped, member_id: str, tickets: list[dict[str, Any]]) -> set[str]:
    """The ids of ``tickets`` (summaries) with a customer message newer than the member's last look."""
    written = {t["id"]: t["lastCustomerMessageAt"] for t in tickets if t.get("lastCustomerMessageAt")}
    if not written:
        return set()
    seen = {row.ticket_id: row.seen_at for row in
            scoped.execute(_SEEN, {"m_id": member_id, "ticket_ids": list(written)})}
    return {tid for tid, at in written.items()
            if tid not in seen or seen[tid] < datetime.fromisoformat(at)}
