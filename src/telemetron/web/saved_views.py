"""Saved views: a named set of the list's filters, personal (its owner's) or shared with the
organization. A view stores the list's query string without its page cursor, so a filter the
list gains later is saved too, with no schema change."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import bindparam, or_
from starlette.responses import Response

from telemetron import ids
from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_delete, tenant_insert, tenant_select
from telemetron.db.tables import saved_views
from telemetron.errors import NotFound
from telemetron.members.auth import SignedIn
from telemetron.orgs.service import check_name
from telemetron.web.pages import Web, page

_v = saved_views.c
_VISIBLE = (
    tenant_select(saved_views)
    .where(or_(_v.member_id == bindparam("member_id"), _v.shared.is_(True)))
    .order_by(_v.name, _v.id)
)
_INSERT = tenant_insert(saved_views)
# Only the owner removes a view (a shared one too): others just do not open it.
_DELETE = tenant_delete(saved_views).where(_v.id == bindparam("view_id"), _v.member_id == bindparam("member_id"))
MAX_QUERY = 2000


def clean_query(query: str) -> str:
    """The list's query string without its cursor and messages (a view names filters, not a page)."""
    pairs = [(k, v) for k, v in parse_qsl(query[:MAX_QUERY]) if k not in ("cursor", "bulk", "expired")]
    return urlencode(pairs)


def list_views(scoped: Scoped, member: SignedIn) -> list[dict]:
    rows = scoped.execute(_VISIBLE, {"member_id": member.member_id}).mappings()
    return [{**dict(r), "mine": r["member_id"] == member.member_id} for r in rows]


def save_view(scoped: Scoped, member: SignedIn, *, name: str, query: str, shared: bool) -> dict:
    row = {"id": ids.prefixed("view"), "member_id": member.member_id,
           "name": check_name(name, what="The view's name"), "query": clean_query(query), "shared": shared,
           "created_at": utcnow()}
    scoped.execute(_INSERT, row)
    return row


def delete_view(scoped: Scoped, member: SignedIn, view_id: str) -> None:
    if scoped.execute(_DELETE, {"view_id": view_id, "member_id": member.member_id}).rowcount == 0:
        raise NotFound("No such view of yours (only its owner can remove a view).", code="view_not_found")


@page()
async def view_save(web: Web) -> Response:
    row = await web.run(save_view, name=web.form.get("name"), query=web.form.get("list_query"),
                        shared=web.form.get("shared") == "on")
    return web.redirect(f"/tickets?{row['query']}" if row["query"] else "/tickets")


@page()
async def view_delete(web: Web) -> Response:
    await web.run(delete_view, web.request.path_params["view_id"])
    return web.redirect("/tickets")
