"""Writing and reading audit events (see the package's docstring)."""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam

from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_select
from telemetron.db.tables import audit_events

# A detail under one of these names is never stored, whatever its value.
_SECRET_NAME = re.compile(r"password|secret|token|hash|api_?key$|^key$|slack_?webhook_?url", re.IGNORECASE)
REDACTED = "[redacted]"
MAX_LIST = 500
_LAST_ID = 2**31 - 1  # ids are INTEGER on PostgreSQL


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: ``kind`` member | cli | anonymous (a sign-in attempt) | system."""

    kind: str
    label: str
    id: str | None = None
    address: str | None = None

    @classmethod
    def member(cls, member_id: str, email: str, address: str | None) -> Actor:
        return cls("member", email, member_id, address)

    @classmethod
    def cli(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no user name in this environment (a container without /etc/passwd)
            user = "unknown"
        return cls("cli", f"shell ({user})")


SYSTEM = Actor("system", "system")


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    return {str(k): (REDACTED if _SECRET_NAME.search(str(k)) else _clean(v) if isinstance(v, dict) else v)
            for k, v in details.items()}


def record(conn: Connection, org_id: str, actor: Actor | None, action: str, details: dict[str, Any] | None = None) -> None:
    """Add an event to organization ``org_id``'s log, in the caller's transaction."""
    actor = actor or SYSTEM
    conn.execute(audit_events.insert(), {
        "organization_id": org_id, "created_at": utcnow(), "actor_kind": actor.kind, "actor_id": actor.id,
        "actor_label": actor.label[:320], "client_address": actor.address, "action": action,
        "details": _clean(details or {}),
    })


def record_scoped(scoped: Scoped, action: str, details: dict[str, Any] | None = None) -> None:
    """``record`` for the scope's organization, by the scope's actor."""
    record(scoped.conn, scoped.org_id, scoped.actor, action, details)


_a = audit_events.c
_LIST = (tenant_select(audit_events, _a.id, _a.created_at, _a.actor_kind, _a.actor_id, _a.actor_label,
                       _a.client_address, _a.action, _a.details)
         .where(_a.id < bindparam("before")).order_by(_a.id.desc()).limit(bindparam("limit")))


def list_events(scoped: Scoped, *, limit: int = 100, before: int | None = None) -> list[dict]:
    """The organization's events, newest first (``before``: an event id, for the next page)."""
    before = _LAST_ID if before is None else max(0, min(before, _LAST_ID))
    rows = scoped.execute(_LIST, {"before": before, "limit": max(1, min(limit, MAX_LIST))}).mappings()
    return [{str(k): v for k, v in row.items()} for row in rows]
