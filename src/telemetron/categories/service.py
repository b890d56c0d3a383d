"""Categories: an organization's own labels for tickets (and, later, customers and devices).

Names are unique per organization ignoring case; a ticket's ``category`` matches an active
category ignoring case and surrounding spaces (``name_key`` holds ``lower(trim(name))``).
Flags follow Telemetron: ``active`` (inactive categories are never given to new tickets),
``ai_enabled`` (the categorizer may choose it), ``auto_resolve`` (needs ``ai_enabled``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError

from telemetron import audit, ids
from telemetron.categories.values import AiCategory, CategoryRef
from telemetron.clock import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select, tenant_update_bound
from telemetron.db.tables import categories
from telemetron.errors import Conflict, InvalidRequest, NotFound
from telemetron.orgs.config_version import bump as bump_config_version

_BY_NAME = tenant_select(categories).where(categories.c.name_key == bindparam("name_key"))
_ACTIVE_BY_NAME = _BY_NAME.where(categories.c.active.is_(True))
_ACTIVE_ID_NAME = Prepared(
    tenant_select(categories, categories.c.id, categories.c.name).where(
        categories.c.name_key == bindparam("name_key"), categories.c.active.is_(True)
    )
)
_ALL = tenant_select(categories).order_by(categories.c.name_key)
_INSERT = tenant_insert(categories)


MAX_DESCRIPTION = 4000
MAX_EXAMPLES = 100
MAX_EXAMPLE = 500


def name_key(name: str) -> str:
    return name.strip().lower()


def add_category(
    scoped: Scoped,
    *,
    name: str,
    description: str = "",
    active: bool = True,
    ai_enabled: bool = True,
    auto_resolve: bool = False,
    examples: Sequence[str] = (),
) -> dict:
    name = name.strip()
    if not name:
        raise InvalidRequest("Category name must not be empty", field="name")
    if len(name) > 255:
        raise InvalidRequest("Category name must be at most 255 characters", field="name")
    description, examples = _checked_definition(description, examples, ai_enabled=ai_enabled, auto_resolve=auto_resolve)
    now = utcnow()
    row = {
        "id": ids.category_id(),
        "name": name,
        "name_key": name_key(name),
        "description": description,
        "active": active,
        "ai_enabled": ai_enabled,
        "auto_resolve": auto_resolve,
        "examples": examples,
        "created_at": now,
        "updated_at": now,
    }
    if find_by_name(scoped, name, active_only=False) is not None:
        raise Conflict(f"A category named '{name}' already exists", field="name", code="category_exists")
    try:
        with scoped.conn.begin_nested():
            scoped.execute(_INSERT, row)
    except IntegrityError:  # a concurrent add of the same name
        raise Conflict(f"A category named '{name}' already exists", field="name", code="category_exists") from None
    bump_config_version(scoped)  # the AI may choose it from the next ticket on
    audit.record_scoped(scoped, "category.added", {
        "categoryId": row["id"], "name": name, "description": description, "examples": examples, "active": active,
        "ai_enabled": ai_enabled, "auto_resolve": auto_resolve})
    return {"organization_id": scoped.org_id, **row}


def _checked_definition(description: str, examples: Sequence[str], *, ai_enabled: bool, auto_resolve: bool) -> tuple[str, list[str]]:
    """What the categorizer learns a category from, trimmed and within limits (adding and editing alike)."""
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidRequest(f"The description must be at most {MAX_DESCRIPTION} characters", field="description")
    examples = [e.strip() for e in examples if e and e.strip()]
    if len(examples) > MAX_EXAMPLES:
        raise InvalidRequest(f"At most {MAX_EXAMPLES} example phrases", field="examples")
    if any(len(e) > MAX_EXAMPLE for e in examples):
        raise InvalidRequest(f"Each example phrase must be at most {MAX_EXAMPLE} characters", field="examples")
    if auto_resolve and not ai_enabled:
        raise InvalidRequest("An auto-resolve category must be AI-enabled", field="auto_resolve")
    return description, examples


def find_by_name(scoped: Scoped, name: str, *, active_only: bool = True) -> dict | None:
    stmt = _ACTIVE_BY_NAME if active_only else _BY_NAME
    row = scoped.execute(stmt, {"name_key": name_key(name)}).mappings().first()
    return dict(row) if row else None


_AI = tenant_select(
    categories, categories.c.id, categories.c.name, categories.c.auto_resolve, categories.c.description
).where(
    categories.c.active.is_(True), categories.c.ai_enabled.is_(True)
).order_by(categories.c.name_key)


def ai_categories(scoped: Scoped) -> dict[str, AiCategory]:
    """The categories the AI may choose now, by id."""
    return {r.id: AiCategory(r.id, r.name, bool(r.auto_resolve), r.description or "") for r in scoped.execute(_AI)}


_ACTIVE = tenant_select(categories, categories.c.id, categories.c.name, categories.c.name_key).where(
    categories.c.active.is_(True)
)


def active_by_key(scoped: Scoped) -> dict[str, CategoryRef]:
    """The active categories by ``name_key``. Cached with the organization's configuration."""
    return {r.name_key: CategoryRef(r.id, r.name) for r in scoped.execute(_ACTIVE)}


def match_active(scoped: Scoped, name: str) -> tuple[str, str] | None:
    """(id, name) of the active category that ``name`` names, ignoring case and surrounding spaces."""
    row = scoped.execute_prepared(_ACTIVE_ID_NAME, {"name_key": name_key(name)}).fetchone()
    return (row[0], row[1]) if row else None


def list_categories(scoped: Scoped) -> list[dict]:
    return [dict(r) for r in scoped.execute(_ALL).mappings()]



# Editing a category after it was created (description, example phrases, flags). Every edit
# moves ``updated_at`` (the categorizer retrains organizations whose categories changed since
# their model: ``triage.store``) and bumps the configuration version (``orgs.config``). The name
# is not editable: routing rules and API clients name categories, and a rename would silently
# change what they match.
_c = categories.c
_BY_ID = tenant_select(categories).where(_c.id == bindparam("category_id"))
_UPDATE = (
    tenant_update_bound(categories, "description", "examples", "active", "ai_enabled", "auto_resolve")
    .where(_c.id == bindparam("category_id"))
    .values(updated_at=bindparam("now"))
)


def get_category(scoped: Scoped, category_id: str) -> dict:
    """This organization's category ``category_id``; 404 ``category_not_found`` otherwise."""
    row = scoped.execute(_BY_ID, {"category_id": category_id}).mappings().first()
    if row is None:
        raise NotFound("Category not found in this organization", code="category_not_found")
    return dict(row)


def find_category(scoped: Scoped, id_or_name: str) -> dict:
    """The category an admin names by its id or by its name (any case, active or not); 404 otherwise."""
    if id_or_name.startswith("cat_"):
        row = scoped.execute(_BY_ID, {"category_id": id_or_name}).mappings().first()
        if row is not None:
            return dict(row)
    found = find_by_name(scoped, id_or_name, active_only=False)
    if found is None:
        raise NotFound(f"No category '{id_or_name.strip()}' in this organization", code="category_not_found")
    return found


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
    description, examples = _checked_definition(description, examples, ai_enabled=ai_enabled, auto_resolve=auto_resolve)
    now = utcnow()
    values = {"description": description, "examples": examples, "active": bool(active),
              "ai_enabled": bool(ai_enabled), "auto_resolve": bool(auto_resolve)}
    scoped.execute(_UPDATE, {"category_id": category_id, "now": now, **{f"new_{k}": v for k, v in values.items()}})
    bump_config_version(scoped)
    changes = {k: {"from": category[k], "to": v} for k, v in values.items() if category.get(k) != v}
    if changes:
        audit.record_scoped(scoped, "category.updated", {"categoryId": category_id, "name": category["name"],
                                                         "changes": changes})
    return {**category, **values, "updated_at": now}
