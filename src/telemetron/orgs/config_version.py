"""An organization's configuration version: bumped in the transaction of every change to what
``orgs.config`` caches, which is how every process knows its cached copy is out of date.

Apart from ``orgs.config`` so that the modules whose changes bump it (categories, routing,
notification settings, the triage store) need not import the module that reads them all.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update

from telemetron.db.scoped import Scoped
from telemetron.db.tables import organizations

_BUMP = (
    update(organizations)
    .where(organizations.c.id == bindparam("bumped_org_id"))
    .values(config_version=organizations.c.config_version + 1)
)


def bump(scoped: Scoped) -> None:
    """Call in every transaction that changes rules, notification settings, categories or the model."""
    scoped.conn.execute(_BUMP, {"bumped_org_id": scoped.org_id})
