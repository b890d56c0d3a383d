"""The admins' macro pages: canned replies with placeholders and optional field changes, through
``macros.service`` (as ``telemetron macro`` does)."""

from __future__ import annotations

from starlette.responses import Response

from telemetron.categories import service as categories
from telemetron.enums import PRIORITIES, STATUSES
from telemetron.errors import AppError
from telemetron.macros import service as macros
from telemetron.members import service as members
from telemetron.web.pages import Form, Web, page

admin_page = page(admin_only=True)
DONE = {"added": "Macro added.", "saved": "Macro saved.", "deleted": "Macro deleted."}


def typed(form: Form) -> dict:
    """The macro as the form gives it (kept to show again after an error)."""
    tags = [t.strip() for t in form.get("tags").split(",") if t.strip()]
    return {"name": form.get("name"), "content": form.get("content"),
            "actions": {k: form.get(k) for k in ("status", "priority", "category", "assignee") if form.get(k)}
            | ({"tags": tags} if tags else {})}


def _choices(scoped, member) -> dict:
    return {"macros": macros.list_macros(scoped), "members": members.list_members(scoped),
            "categories": [c for c in categories.list_categories(scoped) if c["active"]]}


async def _render(web: Web, template: str, *, status: int = 200, error: str | None = None, **extra) -> Response:
    data = await web.run(_choices)
    done = DONE.get(web.request.query_params.get("done", "")) if status == 200 else None
    return web.render(template, status=status, error=error, done=done, statuses=STATUSES, priorities=PRIORITIES,
                      placeholders=macros.PLACEHOLDERS, **data, **extra)


@admin_page
async def macro_list(web: Web) -> Response:
    return await _render(web, "admin/macros.html", macro=None)


@admin_page
async def macro_add(web: Web) -> Response:
    values = typed(web.form)
    try:
        await web.run(lambda scoped, member: macros.add_macro(scoped, **values))
    except AppError as exc:
        return await _render(web, "admin/macros.html", status=exc.status, error=exc.message, macro=values)
    return web.redirect("/admin/macros?done=added")


@admin_page
async def macro_edit(web: Web) -> Response:
    macro = await web.run(lambda scoped, member: macros.get_macro(scoped, web.request.path_params["macro_id"]))
    return await _render(web, "admin/macro.html", macro=macro)


@admin_page
async def macro_save(web: Web) -> Response:
    macro_id = web.request.path_params["macro_id"]
    values = typed(web.form)
    try:
        await web.run(lambda scoped, member: macros.update_macro(scoped, macro_id, **values))
    except AppError as exc:
        if exc.status == 404 and exc.code == "macro_not_found":
            raise
        return await _render(web, "admin/macro.html", status=exc.status, error=exc.message,
                             macro={**values, "id": macro_id})
    return web.redirect(f"/admin/macros/{macro_id}?done=saved")


@admin_page
async def macro_delete(web: Web) -> Response:
    await web.run(lambda scoped, member: macros.delete_macro(scoped, web.request.path_params["macro_id"]))
    return web.redirect("/admin/macros?done=deleted")
