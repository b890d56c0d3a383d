"""Fixtures for the email channel: a server with a secret key and an attachments folder, and a
mailbox per test (what they are made of, and the real-world mails of ``mails/``:
tests/support/mail.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from telemetron.config import Settings
from tests.support.mail import Mailbox, make_mailbox
from tests.support.servers import LiveServer

os.environ.setdefault("TELEMETRON_SECRET_KEY", "tests-only-secret-key")


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


@pytest.fixture
def mailbox(db) -> Mailbox:
    return make_mailbox(db)
