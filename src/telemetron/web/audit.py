"""The admins' *Audit log* page: the organization's events, newest first, 100 a page."""

from __future__ import annotations

from starlette.responses import Response

from telemetron.audit import list_events
from telemetron.web.pages import Web, page

PAGE = 100


@page(admin_only=True)
async def audit_log(web: Web) -> Response:
    raw = web.request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 19 else None
    events = await web.run(lambda scoped, member: list_events(scoped, limit=PAGE, before=before))
    older = events[-1]["id"] if len(events) == PAGE else None
    return web.render("admin/audit.html", events=events, older=older)
