"""Canned replies and macros, per organization: a reply with placeholders and, optionally, field
changes (status, priority, category, assignee, tags) that an agent applies on a ticket page.

A macro only fills the ticket's one form: the agent sees the reply and the changes, may edit
them, and sends; sending goes through the same change functions as any reply or change. The web
app's admin pages and ``telemetron macro`` call the functions here.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam

from telemetron import ids
from telemetron.categories import service as categories
from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_delete, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import macros
from telemetron.enums import PRIORITIES, STATUSES
from telemetron.errors import Conflict, InvalidRequest, NotFound
from telemetron.members import service as members
from telemetron.orgs.service import check_name
from telemetron.tickets.update import clean_tags

PLACEHOLDERS = {
    "customer_name": "the customer's name",
    "ticket_number": "the ticket's number in the organization, as #N (the [#N] of its emails)",
    "agent_name": "the name of the agent applying the macro",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
MAX_CONTENT = 20_000

_m = macros.c
_ALL = tenant_select(macros).order_by(_m.name, _m.id)
_ONE = tenant_select(macros).where(_m.id == bindparam("macro_id"))
_BY_NAME = tenant_select(macros, _m.id).where(_m.name == bindparam("name"))
_INSERT = tenant_insert(macros)
_UPDATE = tenant_update(macros).where(_m.id == bindparam("macro_id")).values(
    name=bindparam("new_name"), content=bindparam("new_content"), actions=bindparam("new_actions"),
    updated_at=bindparam("now"))
_DELETE = tenant_delete(macros).where(_m.id == bindparam("macro_id"))


def check_content(content: str) -> str:
    content = content.replace("\r\n", "\n").strip()
    if len(content) > MAX_CONTENT:
        raise InvalidRequest(f"The reply is too long (at most {MAX_CONTENT:,} characters)", field="content")
    unknown = sorted({name for name in _PLACEHOLDER.findall(content) if name not in PLACEHOLDERS})
    if unknown:
        known = ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
        raise InvalidRequest(f"Unknown placeholder {{{{{unknown[0]}}}}}; the placeholders are {known}", field="content")
    return content


def check_actions(scoped: Scoped, actions: dict[str, Any]) -> dict[str, Any]:
    """Only the given, non-empty changes, each checked against this organization's data."""
    clean: dict[str, Any] = {}
    status, priority = actions.get("status"), actions.get("priority")
    if status:
        if status not in STATUSES:
            raise InvalidRequest(f"Unknown status '{status}' (statuses: {', '.join(STATUSES)})", field="status")
        clean["status"] = status
    if priority:
        if priority not in PRIORITIES:
            raise InvalidRequest(f"Unknown priority '{priority}' (priorities: {', '.join(PRIORITIES)})", field="priority")
        clean["priority"] = priority
    if actions.get("category"):
        found = categories.find_by_name(scoped, actions["category"], active_only=False)
        if found is None:
            raise NotFound(f"Category '{actions['category']}' not found in this organization", field="category",
                           code="category_not_found")
        clean["category"] = found["name"]
    assignee = actions.get("assignee")
    if assignee:
        if assignee not in ("me", "unassigned"):
            members.get_member(scoped, assignee)  # 404 if not this organization's
        clean["assignee"] = assignee
    if actions.get("tags"):
        clean["tags"] = clean_tags(actions["tags"])
    return clean


def add_macro(scoped: Scoped, *, name: str, content: str = "", actions: dict[str, Any] | None = None) -> dict:
    name = check_name(name, what="The macro's name")
    if scoped.execute(_BY_NAME, {"name": name}).first() is not None:
        raise Conflict(f"A macro named '{name}' already exists", field="name", code="macro_exists")
    actions = check_actions(scoped, actions or {})
    content = check_content(content)
    if not content and not actions:
        raise InvalidRequest("A macro needs a reply or at least one change", field="content")
    now = utcnow()
    row = {"id": ids.prefixed("mac"), "name": name, "content": content, "actions": actions,
           "created_at": now, "updated_at": now}
    scoped.execute(_INSERT, row)
    return row


def update_macro(scoped: Scoped, macro_id: str, *, name: str, content: str, actions: dict[str, Any]) -> dict:
    get_macro(scoped, macro_id)
    name = check_name(name, what="The macro's name")
    same_name = scoped.execute(_BY_NAME, {"name": name}).scalar()
    if same_name is not None and same_name != macro_id:
        raise Conflict(f"A macro named '{name}' already exists", field="name", code="macro_exists")
    actions, content = check_actions(scoped, actions), check_content(content)
    if not content and not actions:
        raise InvalidRequest("A macro needs a reply or at least one change", field="content")
    scoped.execute(_UPDATE, {"macro_id": macro_id, "new_name": name, "new_content": content,
                             "new_actions": actions, "now": utcnow()})
    return get_macro(scoped, macro_id)


def delete_macro(scoped: Scoped, macro_id: str) -> None:
    if scoped.execute(_DELETE, {"macro_id": macro_id}).rowcount == 0:
        raise NotFound(f"Macro {macro_id} not found in this organization", code="macro_not_found")


def list_macros(scoped: Scoped) -> list[dict]:
    return [dict(r) for r in scoped.execute(_ALL).mappings()]


def get_macro(scoped: Scoped, macro_id: str) -> dict:
    row = scoped.execute(_ONE, {"macro_id": macro_id}).mappings().first()
    if row is None:
        raise NotFound(f"Macro {macro_id} not found in this organization", code="macro_not_found")
    return dict(row)


def expand(content: str, *, customer_name: str, ticket_number: str, agent_name: str) -> str:
    values = {"customer_name": customer_name, "ticket_number": ticket_number, "agent_name": agent_name}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), content)
