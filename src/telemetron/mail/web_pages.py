"""The web app's email pieces: the note box, downloads of attachments and original mails.

Downloads are for the organization's signed-in agents only (``web.run`` checks the session and
scopes every read to the member's organization: another organization's id is a 404). Files are
always sent as downloads (``Content-Disposition: attachment``, ``nosniff``), never shown inline:
an HTML attachment must not run in the app's origin.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import bindparam
from starlette.responses import FileResponse, Response

from telemetron.db.engine import utcnow
from telemetron.db.scoped import Scoped, tenant_select
from telemetron.db.tables import ticket_messages
from telemetron.errors import AppError, NotFound
from telemetron.mail import attachments
from telemetron.tickets.serializers import canonical_ticket_id
from telemetron.tickets.update import add_message, lock_ticket
from telemetron.web.pages import Web, page

_m = ticket_messages.c


def _download(path: Path, filename: str) -> Response:
    return FileResponse(path, media_type="application/octet-stream", filename=filename,
                        content_disposition_type="attachment", headers={"X-Content-Type-Options": "nosniff"})


def _attachment(scoped: Scoped, member, raw_ticket_id: str, attachment_id: str) -> dict:
    ticket = lock_ticket(scoped, canonical_ticket_id(raw_ticket_id))  # 404 for another org's ticket
    return attachments.find(scoped, ticket.id, attachment_id)


@page()
async def attachment_download(web: Web) -> Response:
    row = await web.run(_attachment, web.request.path_params["ticket_id"], web.request.path_params["attachment_id"])
    path = attachments.open_path(attachments.folder(web.settings), row["path"])
    if not path.is_file():
        raise NotFound("The attachment's file is missing from the attachments folder", code="attachment_missing")
    return _download(path, row["filename"])


def _original(scoped: Scoped, member, raw_ticket_id: str, message_id: str) -> str:
    source = scoped.execute(
        tenant_select(ticket_messages, _m.email_source)
        .where(_m.ticket_id == bindparam("ticket_id"), _m.id == bindparam("mid")),
        {"ticket_id": canonical_ticket_id(raw_ticket_id), "mid": int(message_id) if message_id.isdigit() else -1},
    ).scalar()
    if not source:
        raise NotFound("That message did not come by email", code="original_not_found")
    return source


@page()
async def original_download(web: Web) -> Response:
    source = await web.run(_original, web.request.path_params["ticket_id"], web.request.path_params["message_id"])
    path = attachments.open_path(attachments.folder(web.settings), source)
    if not path.is_file():
        raise NotFound("The original mail's file is missing from the attachments folder", code="original_missing")
    return _download(path, f"message-{web.request.path_params['message_id']}.eml")


def _note(scoped: Scoped, member, raw_ticket_id: str, *, content: str | None, max_text: int) -> str:
    from telemetron.web.ticket_data import _text

    content = _text(content.replace("\r\n", "\n") if content else content or "", what="note", limit=max_text)
    ticket = lock_ticket(scoped, canonical_ticket_id(raw_ticket_id))
    add_message(scoped, ticket, "agent", content, now=utcnow(), author_member_id=member.member_id,
                        internal=True, channel="web")
    return ticket.id


@page()
async def ticket_note(web: Web) -> Response:
    from telemetron.web.tickets import _show

    content = web.form.get("note")
    try:
        ticket_id = await web.run(_note, web.request.path_params["ticket_id"], content=content,
                                  max_text=web.settings.max_text_bytes)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _show(web, exc.status, error=exc.message)
    return web.redirect(f"/tickets/{ticket_id}?done=noted#note")
