"""The agents' pages: the ticket list (``/tickets``) and a ticket (``/tickets/{id}``, the address
Slack notifications link to), with replying and changing status, priority, category and assignee."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from starlette.responses import Response

from telemetron.enums import PRIORITIES, STATUSES
from telemetron.errors import AppError
from telemetron.web import bulk, ticket_data, ticket_form, workspace
from telemetron.web.pages import Web, page
from telemetron.web.ticket_list import ListFilters

# Fixed messages after a change (the URL carries a code, never text that a link could forge).
DONE = {
    "replied": "Your reply was added.",
    "noted": "Your internal note was added (agents only: it is not sent to the customer).",
    "replied-before": "This reply was sent before (a second click or a re-sent form): it was added once.",
    "updated": "The ticket was updated.",
    "unchanged": "Nothing was changed.",
    "confirmed": "Category confirmed: the AI learns from it.",
}


@page()
async def ticket_list(web: Web) -> Response:
    filters = ListFilters.from_query(web.request.query_params)
    try:
        data = await web.read(workspace.list_page, filters)
    except AppError as exc:
        if exc.code not in ("invalid_cursor", "cursor_mismatch"):
            raise
        # A page link from before (other filters, an edited address): not an API error for an agent.
        return web.redirect(f"/tickets?{urlencode({**filters.query(), 'expired': '1'})}")
    next_url = f"/tickets?{urlencode(filters.query(cursor=data['next_cursor']))}" if data["next_cursor"] else None
    first_url = f"/tickets?{urlencode(filters.query())}" if filters.cursor else None
    expired = "That page of results had expired (the filters changed, or the link was old): here is the first page."
    return web.render("tickets.html", filters=filters, statuses=STATUSES, priorities=PRIORITIES,
                      next_url=next_url, first_url=first_url,
                      list_query=urlencode(filters.query()), max_bulk=bulk.MAX_BULK,
                      done=expired if web.request.query_params.get("expired") == "1" else bulk.done(web), **data)


async def _show(web: Web, status: int = 200, *, error: str | None = None, draft: str = "",
                done: str | None = None) -> Response:
    params = web.request.query_params
    data = await web.run(workspace.ticket_page, web.request.path_params["ticket_id"], params.get("macro", ""))
    done = done or (DONE.get(params.get("done", "")) if status == 200 else None)
    draft = draft or data["form"]["draft"] or ""
    return web.render("ticket.html", status=status, statuses=STATUSES, priorities=PRIORITIES, error=error,
                      done=done, draft=draft, once=secrets.token_urlsafe(16), **data)


@page()
async def ticket(web: Web) -> Response:
    return await _show(web)


@page()
async def ticket_reply(web: Web) -> Response:
    """The ticket's one form: "Send reply" adds the reply and the sidebar's changes together; "Save
    changes" and "Assign to me" save the changes and keep a draft reply on the page."""
    content = web.form.get("content")
    with_reply = web.form.get("action", "reply") == "reply" and web.form.get("assign_me") != "1"
    try:
        sent = await web.run(ticket_form.send, web.request.path_params["ticket_id"], form=web.form,
                             with_reply=with_reply, max_text=web.settings.max_text_bytes)
    except AppError as exc:
        if exc.status == 404 and exc.code == "ticket_not_found":
            raise
        return await _show(web, exc.status, error=exc.message, draft=content)
    if sent.replied is None:
        done = "updated" if sent.changed else "unchanged"
        if content.strip():  # the draft stays on the page, unsent
            return await _show(web, done=DONE[done] + " Your reply is not sent yet.", draft=content)
        return web.redirect(f"/tickets/{sent.ticket_id}?done={done}")
    return web.redirect(f"/tickets/{sent.ticket_id}?done={'replied' if sent.replied else 'replied-before'}#reply")


@page()
async def ticket_update(web: Web) -> Response:
    form = web.form
    raw_id = web.request.path_params["ticket_id"]
    try:
        changed = await web.run(ticket_data.update, raw_id, status=form.get("status"), priority=form.get("priority"),
                                category_id=form.get("category"), assignee_id=form.get("assignee"),
                                confirm_category=form.get("confirm_category") == "1",
                                shown={f: form.get(f"shown_{f}") for f in ("status", "priority", "category", "assignee")})
    except AppError as exc:
        if exc.status == 404 and exc.code == "ticket_not_found":
            raise
        return await _show(web, exc.status, error=exc.message)
    done = "confirmed" if form.get("confirm_category") == "1" else ("updated" if changed else "unchanged")
    return web.redirect(f"/tickets/{web.request.path_params['ticket_id']}?done={done}")
