"""Fixtures for the email channel: a server with a secret key and an attachments folder, a
mailbox per test, the real-world mails of ``mails/`` with their placeholders filled in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer, Tenant, make_tenant

from telemetron.config import Settings
from telemetron.db.scoped import Scoped
from telemetron.mail.mailboxes import add_mailbox

os.environ.setdefault("TELEMETRON_SECRET_KEY", "tests-only-secret-key")
MAILS = Path(__file__).parent / "mails"


def mail(name: str, **fill: str) -> bytes:
    """A fixture mail, its {placeholders} filled, with CRLF line ends as mail travels."""
    text = (MAILS / name).read_text(encoding="utf-8")
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


@pytest.fixture(scope="session")
def attachments_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("attachments")


@pytest.fixture(scope="session")
def mail_server(database_url, attachments_dir) -> Iterator[LiveServer]:
    settings = Settings(database_url=database_url, db_pool_size=4, run_worker=False,
                        attachments_dir=str(attachments_dir), mail_new_tickets_per_sender_per_hour=3)
    server = LiveServer(settings).start()
    yield server
    server.stop()


@pytest.fixture
def mail_http(mail_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mail_server.url, timeout=30) as client:
        yield client


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


@pytest.fixture
def mailbox(db) -> Mailbox:
    return make_mailbox(db)
