"""Attachments and raw mails, stored as files under the attachments folder, listed in the database.

Files are written before the ticket's transaction (``save_files``) into a fresh folder of their
own, so that a crash or a rolled-back mail leaves at most an unused folder, never a row without
its file. Names are sanitized (no folders, no control characters, at most 120 characters) and the
stored path is relative to the folder: moving the folder moves everything.
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam

from telemetron import ids
from telemetron.db.engine import utcnow
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select
from telemetron.db.tables import attachments, ticket_messages
from telemetron.errors import NotFound

_a = attachments.c
_UNSAFE = re.compile(r"[^\w.\- ()+,@]+")


def folder(settings) -> Path:
    """TELEMETRON_ATTACHMENTS_DIR, or "attachments" beside the SQLite file (the working directory
    for PostgreSQL)."""
    if settings.attachments_dir:
        return Path(settings.attachments_dir)
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url.removeprefix("sqlite:///")).resolve().parent / "attachments"
    return Path.cwd() / "attachments"


def safe_name(name: str | None, fallback: str = "attachment") -> str:
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" ._")[:120]
    return name or fallback


@dataclass(slots=True)
class Part:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass(slots=True)
class Stored:
    filename: str
    content_type: str
    size: int
    path: str  # relative to the folder
    inline: bool


def save_files(root: Path, org_id: str, raw: bytes, parts: list[Part]) -> tuple[str, list[Stored], Path]:
    """Write the raw mail and its parts into a new folder; returns (raw's path, parts, folder)."""
    relative = Path(org_id) / uuid.uuid4().hex
    target = root / relative
    target.mkdir(parents=True, exist_ok=True)
    (target / "original.eml").write_bytes(raw)
    stored: list[Stored] = []
    used: set[str] = {"original.eml"}
    for part in parts:
        name = safe_name(part.filename)
        stem, dot, ext = name.rpartition(".")
        n = 1
        while name in used:
            n += 1
            name = f"{stem}-{n}.{ext}" if dot else f"{ext}-{n}"
        used.add(name)
        (target / name).write_bytes(part.data)
        stored.append(Stored(name, part.content_type, len(part.data), str(relative / name), part.inline))
    return str(relative / "original.eml"), stored, target


def record(scoped: Scoped, ticket_id: str, message_id: int, files: list[Stored]) -> None:
    now = utcnow()
    for f in files:
        scoped.execute(tenant_insert(attachments), {
            "id": ids.prefixed("att"), "ticket_id": ticket_id, "message_id": message_id, "filename": f.filename,
            "content_type": f.content_type, "size": f.size, "path": f.path, "inline": f.inline, "created_at": now})


_BY_TICKET = tenant_select(attachments).where(_a.ticket_id == bindparam("ticket_id")).order_by(_a.created_at, _a.id)


def ticket_attachments(scoped: Scoped, ticket_id: str) -> list[dict]:
    return [{"id": r["id"], "messageId": r["message_id"], "filename": r["filename"], "contentType": r["content_type"],
             "size": r["size"], "inline": r["inline"]}
            for r in scoped.execute(_BY_TICKET, {"ticket_id": ticket_id}).mappings()]


def find(scoped: Scoped, ticket_id: str, attachment_id: str) -> dict:
    """This organization's attachment of this ticket, or a 404 (another org's id is a 404 too)."""
    row = scoped.execute(
        tenant_select(attachments).where(_a.id == bindparam("att"), _a.ticket_id == bindparam("ticket_id")),
        {"att": attachment_id, "ticket_id": ticket_id},
    ).mappings().first()
    if row is None:
        raise NotFound("Attachment not found", field="attachmentId", code="attachment_not_found")
    return dict(row)


def open_path(root: Path, relative: str) -> Path:
    """The file of a stored path, refusing anything that would leave the folder."""
    path = (root / relative).resolve()
    if os.path.commonpath([path, root.resolve()]) != str(root.resolve()):
        raise NotFound("Attachment not found", field="attachmentId", code="attachment_not_found")
    return path


_tm = ticket_messages.c


def message_originals(scoped: Scoped, ticket_id: str) -> dict[int, dict]:
    """The whole text and raw mail of each email message, for the ticket page."""
    rows = scoped.execute(
        tenant_select(ticket_messages, _tm.id, _tm.original_content, _tm.email_source)
        .where(_tm.ticket_id == bindparam("ticket_id"), _tm.email_source.is_not(None)), {"ticket_id": ticket_id})
    return {r.id: {"text": r.original_content, "raw": bool(r.email_source)} for r in rows}
