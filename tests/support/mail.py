"""The email channel in tests: a mailbox of a fresh organization, and the real-world mails of
tests/mail/mails/ with their placeholders filled in.

The fixtures (``mail_server``, ``mail_http``, ``mailbox``) are in tests/mail/conftest.py; the
SMTP and IMAP servers the tests talk to are tests/mail/smtp_server.py and tests/mail/dovecot.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from telemetron.db.scoped import Scoped
from telemetron.mail.mailboxes import add_mailbox
from tests.support.tenants import Tenant, make_tenant

MAILS = Path(__file__).parents[1] / "mail" / "mails"


def mail(name: str, **fill: str) -> bytes:
    """A fixture mail, its {placeholders} filled, with CRLF line ends as mail travels."""
    text = (MAILS / name).read_text(encoding="utf-8")
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


@dataclass
class Mailbox:
    tenant: Tenant
    id: str
    address: str
    secret: str

    def post(self, client: httpx.Client, raw: bytes, secret: str | None = None) -> httpx.Response:
        return client.post("/api/inbound/email", content=raw, headers={
            "Authorization": f"Bearer {secret or self.secret}", "Content-Type": "message/rfc822"})


def make_mailbox(db, *, smtp_url: str = "smtp://127.0.0.1:1", imap_url: str | None = None,
                 address: str | None = None, ai: bool = False) -> Mailbox:
    tenant = make_tenant(db, ai=ai)
    address = address or f"support-{tenant.id[4:]}@acme.example"

    def unit(conn):
        return add_mailbox(Scoped(db, conn, tenant.id), address=address, smtp_url=smtp_url, imap_url=imap_url)

    added = db.run_sync(unit)
    return Mailbox(tenant, added["id"], added["address"], added["inboundSecret"])
