"""An organization's mailboxes: where its mail comes in and goes out.

The SMTP and IMAP URLs carry passwords: they are encrypted here and decrypted only by the code
that connects (``connection_urls``); listings show the scheme, host and user, never the password.
The inbound secret (for ``POST /api/inbound/email``) is shown once, when the mailbox is added, and
stored as its SHA-256 (256 random bits: a fast hash is enough, as for API keys).
"""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select

from telemetron import audit, ids
from telemetron.customers.service import normalize_email
from telemetron.db.engine import utcnow
from telemetron.db.scoped import Scoped, tenant_delete, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import mailboxes
from telemetron.errors import Conflict, InvalidRequest, NotFound
from telemetron.mail import secrets_box

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
IMAP_SCHEMES = ("imap", "imaps")
_m = mailboxes.c


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_url(url: str, schemes: tuple[str, ...], *, field: str) -> str:
    """The URL if it names one of ``schemes`` and a host; a 400 naming the field otherwise (the
    URL itself is never repeated in the message: it holds a password)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise InvalidRequest(f"{field} must look like {schemes[0]}://user:password@host:port "
                             f"(schemes: {', '.join(schemes)})", field=field, code="invalid_url")
    try:
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        raise InvalidRequest(f"{field} has an invalid port", field=field, code="invalid_url") from None
    return url.strip()


def shown_url(url: str | None) -> str | None:
    """scheme://user@host:port: enough to tell mailboxes apart, without the password."""
    if url is None:
        return None
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname}{port}"


def _public(row, *, smtp: str | None = None, imap: str | None = None) -> dict:
    return {"id": row["id"], "address": row["address"], "smtp": smtp, "imap": imap,
            "createdAt": row["created_at"].isoformat()}


def add_mailbox(scoped: Scoped, *, address: str, smtp_url: str, imap_url: str | None = None) -> dict:
    """Add a mailbox; the answer holds the inbound secret, which is never shown again."""
    address = normalize_email(address, field="address")
    smtp_url = check_url(smtp_url, SMTP_SCHEMES, field="smtp-url")
    imap_url = check_url(imap_url, IMAP_SCHEMES, field="imap-url") if imap_url is not None else None
    if scoped.conn.execute(select(_m.id).where(_m.address == address)).first() is not None:
        raise Conflict(f"the mailbox {address} already exists", field="address", code="mailbox_exists")
    secret = "tlm_in_" + secrets.token_urlsafe(32)
    now = utcnow()
    row = {"id": ids.prefixed("mbx"), "address": address, "smtp_url": secrets_box.encrypt(smtp_url),
           "imap_url": secrets_box.encrypt(imap_url) if imap_url else None, "inbound_secret_hash": _hash(secret),
           "created_at": now, "updated_at": now}
    scoped.execute(tenant_insert(mailboxes), row)
    audit.record_scoped(scoped, "mailbox.added", {"mailboxId": row["id"], "address": address})
    return {**_public(row, smtp=shown_url(smtp_url), imap=shown_url(imap_url)), "inboundSecret": secret}


def _find(scoped: Scoped, mailbox_id_or_address: str):
    key = mailbox_id_or_address.strip()
    row = scoped.execute(
        tenant_select(mailboxes).where((_m.id == bindparam("k")) | (_m.address == bindparam("a"))),
        {"k": key, "a": key.lower()},
    ).mappings().first()
    if row is None:
        raise NotFound(f"no mailbox {key} in this organization", field="mailbox", code="mailbox_not_found")
    return row


def get_mailbox(scoped: Scoped, mailbox_id: str) -> dict:
    return dict(_find(scoped, mailbox_id))


def list_mailboxes(scoped: Scoped) -> list[dict]:
    rows = scoped.execute(tenant_select(mailboxes).order_by(_m.address)).mappings().all()
    return [_public(r, smtp=shown_url(_safe_decrypt(r["smtp_url"])), imap=shown_url(_safe_decrypt(r["imap_url"])))
            for r in rows]


def _safe_decrypt(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return secrets_box.decrypt(token)
    except secrets_box.SecretUnreadable:
        return "(unreadable: set it again)"


def update_mailbox(scoped: Scoped, mailbox: str, *, smtp_url: str | None = None, imap_url: str | None = None,
                   remove_imap: bool = False, new_secret: bool = False) -> dict:
    row = _find(scoped, mailbox)
    values: dict = {"updated_at": utcnow()}
    if smtp_url is not None:
        values["smtp_url"] = secrets_box.encrypt(check_url(smtp_url, SMTP_SCHEMES, field="smtp-url"))
    if imap_url is not None:
        values["imap_url"] = secrets_box.encrypt(check_url(imap_url, IMAP_SCHEMES, field="imap-url"))
        values["imap_uidvalidity"] = values["imap_last_uid"] = None
    elif remove_imap:
        values["imap_url"] = None
    secret = None
    if new_secret:
        secret = "tlm_in_" + secrets.token_urlsafe(32)
        values["inbound_secret_hash"] = _hash(secret)
    scoped.execute(tenant_update(mailboxes).where(_m.id == bindparam("mbx")).values(**values),
                   {"mbx": row["id"]})
    answer = {"id": row["id"], "address": row["address"], "updated": sorted(k for k in values if k != "updated_at")}
    audit.record_scoped(scoped, "mailbox.updated", {"mailboxId": row["id"], "changed": answer["updated"]})
    if secret:
        answer["inboundSecret"] = secret
    return answer


def remove_mailbox(scoped: Scoped, mailbox: str) -> str:
    """Remove a mailbox: its tickets stay (their replies are then stored, not emailed)."""
    from telemetron.db.tables import tickets

    row = _find(scoped, mailbox)
    scoped.execute(tenant_update(tickets).where(tickets.c.mailbox_id == bindparam("mbx")).values(mailbox_id=None),
                   {"mbx": row["id"]})
    scoped.execute(tenant_delete(mailboxes).where(_m.id == bindparam("mbx")), {"mbx": row["id"]})
    audit.record_scoped(scoped, "mailbox.removed", {"mailboxId": row["id"], "address": row["address"]})
    return row["address"]


def by_inbound_secret(conn, secret: str | None) -> dict | None:
    """The mailbox a forwarder's Bearer secret names (unscoped: the secret is how the org is found)."""
    if not secret:
        return None
    row = conn.execute(select(mailboxes).where(_m.inbound_secret_hash == _hash(secret))).mappings().first()
    return dict(row) if row is not None else None


def connection_url(row: dict, which: str) -> str | None:
    """The decrypted ``smtp_url`` or ``imap_url``: for the code that connects, never for output."""
    token = row[which]
    return secrets_box.decrypt(token) if token else None
