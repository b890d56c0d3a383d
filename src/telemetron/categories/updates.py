"""Editing a category after it was created: description, example phrases and flags.

(A separate module from ``categories.service`` only because the web app's work added it while
that module was being changed by others; it follows the same rules.)

Every edit moves ``updated_at`` (the categorizer retrains organizations whose categories changed
since their model: ``triage.store``) and bumps the organization's configuration version (the AI's
category list is cached per process with it: ``orgs.config``). The name is not editable: routing
rules and API clients name categories, and a rename would silently change what they match.
"""

from __future__ import annotations

from sqlalchemy import bindparam

from telemetron.db.engine import utcnow
from telemetron.db.scoped import Scoped, tenant_select, tenant_update
from telemetron.db.tables import categories
from telemetron.errors import InvalidRequest, NotFound
from telemetron.orgs import config as org_config

MAX_DESCRIPTION = 4000
MAX_EXAMPLES = 100
MAX_EXAMPLE = 500

_c = categories.c
_BY_ID = tenant_select(categories).where(_c.id == bindparam("category_id"))
# (Bound names must differ from column names in UPDATE statements.)
_UPDATE = (
    tenant_update(categories)
    .where(_c.id == bindparam("category_id"))
    .values(
        description=bindparam("new_description"),
        examples=bindparam("new_examples"),
        active=bindparam("new_active"),
        ai_enabled=bindparam("new_ai_enabled"),
        auto_resolve=bindparam("new_auto_resolve"),
        updated_at=bindparam("now"),
    )
)


def get_category(scoped: Scoped, category_id: str) -> dict:
    """This organization's category ``category_id``; 404 ``category_not_found`` otherwise."""
    row = scoped.execute(_BY_ID, {"category_id": category_id}).mappings().first()
    if row is None:
        raise NotFound("Category not found in this organization", code="category_not_found")
    return dict(row)


def update_category(
    scoped: Scoped,
    category_id: str,
    *,
    description: str,
    examples: list[str],
    active: bool,
    ai_enabled: bool,
    auto_resolve: bool,
) -> dict:
    category = get_category(scoped, category_id)
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidRequest(f"The description must be at most {MAX_DESCRIPTION} characters", field="description")
    examples = [e.strip() for e in examples if e and e.strip()]
    if len(examples) > MAX_EXAMPLES:
        raise InvalidRequest(f"At most {MAX_EXAMPLES} example phrases", field="examples")
    if any(len(e) > MAX_EXAMPLE for e in examples):
        raise InvalidRequest(f"Each example phrase must be at most {MAX_EXAMPLE} characters", field="examples")
    if auto_resolve and not ai_enabled:
        raise InvalidRequest("An auto-resolve category must be AI-enabled", field="auto_resolve")
    now = utcnow()
    values = {"description": description, "examples": examples, "active": bool(active),
              "ai_enabled": bool(ai_enabled), "auto_resolve": bool(auto_resolve)}
    scoped.execute(_UPDATE, {"category_id": category_id, "now": now, **{f"new_{k}": v for k, v in values.items()}})
    org_config.bump(scoped)
    return {**category, **values, "updated_at": now}
