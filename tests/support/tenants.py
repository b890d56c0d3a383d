"""A fresh organization per test: tests isolate by tenant, as the product does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from telemetron.categories.service import add_category
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.orgs.apikeys import create_api_key
from telemetron.orgs.service import create_organization


@dataclass
class Tenant:
    """An organization with an API key, as a client of the API sees it."""

    id: str
    name: str
    api_key: str
    api_key_id: str
    categories: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


def make_tenant(
    db: Database, *, categories: tuple[str, ...] = ("Connectivity", "Battery", "Billing"), ai: bool = False
) -> Tenant:
    """A new organization with an API key and categories. The categories are not AI-enabled
    unless ``ai``: most tests want a ticket without a matching category to stay uncategorized,
    deterministically; the categorizer's own tests ask for it."""

    def unit(conn):
        org = create_organization(conn, name=f"Org {uuid.uuid4().hex[:8]}")
        key = create_api_key(conn, org_id=org["id"], name="tests")
        scoped = Scoped(db, conn, org["id"])
        for name in categories:
            add_category(scoped, name=name, description=f"{name} problems", ai_enabled=ai)
        return Tenant(org["id"], org["name"], key.key, key.id, list(categories))

    return db.run_sync(unit)
