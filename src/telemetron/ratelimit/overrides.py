"""Per-organization rate limits (``telemetron org rate-limit``): stored on the organization, read by
every API process at most ``REFRESH_SECONDS`` later."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Connection, select, update

from telemetron import audit
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.db.tables import organizations
from telemetron.errors import AppError
from telemetron.ratelimit.policy import Policy, parse_policy

logger = logging.getLogger("telemetron.ratelimit")
# One small query per process this often (all overrides at once): no lookup on the request path.
REFRESH_SECONDS = 5.0
_OVERRIDES = select(organizations.c.id, organizations.c.rate_limit).where(organizations.c.rate_limit.is_not(None))


def set_override(scoped: Scoped, text: str | None) -> Policy | None:
    """Store the organization's own limit (None: back to the server's); returns it parsed (None: off)."""
    policy = parse_policy(text) if text is not None else None
    stored = None if text is None else (policy.text if policy is not None else "off")
    scoped.conn.execute(update(organizations).where(organizations.c.id == scoped.org_id).values(rate_limit=stored))
    audit.record_scoped(scoped, "organization.rate_limit_changed", {"rateLimit": stored})
    return policy


def get_override(scoped: Scoped) -> str | None:
    return scoped.conn.execute(
        select(organizations.c.rate_limit).where(organizations.c.id == scoped.org_id)).scalar_one()


def _load(conn: Connection) -> dict[str, Policy | None]:
    policies: dict[str, Policy | None] = {}
    for org_id, text in conn.execute(_OVERRIDES):
        try:
            policies[org_id] = parse_policy(text)
        except AppError:  # written by hand in the database: the server's limit applies
            logger.warning("organization %s has an invalid rate limit %r; using the default", org_id, text)
    return policies


class Overrides:
    """The organizations' own policies, as this process last read them (refreshed in the background)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._policies: dict[str, Policy | None] = {}
        self._due = 0.0
        self._refreshing: asyncio.Task | None = None

    def policy(self, org_id: str | None, default: Policy) -> Policy | None:
        now = time.monotonic()
        if now >= self._due and self._refreshing is None:
            self._due = now + REFRESH_SECONDS
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh())
        if org_id is None:
            return default
        return self._policies.get(org_id, default)

    async def _refresh(self) -> None:
        try:
            self._policies = await asyncio.to_thread(self._db.read_sync, _load)
        except Exception:  # keep the last known overrides; try again at the next refresh
            logger.warning("could not read the organizations' rate limits", exc_info=True)
        finally:
            self._refreshing = None
