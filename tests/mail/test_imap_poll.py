"""IMAP polling against a real Dovecot: a mail appended to the inbox becomes a ticket, is marked
seen only once stored, and the same mail again makes nothing new."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from telemetron.config import Settings
from telemetron.db.engine import Database
from telemetron.mail.imap_poll import poll_forever
from tests.mail.dovecot import Dovecot
from tests.support.databases import count
from tests.support.mail import mail, make_mailbox
from tests.support.threads import LoopThread
from tests.support.waiting import wait_until

USERS = [f"box{n}@acme.example" for n in range(8)]
_next_user = itertools.count()


@pytest.fixture(scope="session")
def dovecot():
    if shutil.which("dovecot") is None and not __import__("os").path.exists("/usr/sbin/dovecot"):
        if __import__("os").environ.get("CI"):
            pytest.fail("dovecot is not installed (apt-get install dovecot-imapd)")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    # Not under pytest's own temporary folder: it is private to root (0700), and Dovecot's
    # processes run as the dovecot user.
    folder = Path(tempfile.mkdtemp(prefix="telemetron-dovecot-"))
    server = Dovecot(folder, USERS).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


class Poller(LoopThread):
    """poll_forever on its own event loop and database connection, in a thread."""

    def __init__(self, database_url: str, attachments_dir) -> None:
        super().__init__(Settings(database_url=database_url, attachments_dir=str(attachments_dir), mail_poll_seconds=0.5))

    async def serve(self, db: Database, stop_event: asyncio.Event) -> None:
        async def no_ai(_ask):
            raise AssertionError("these tenants' categories are not open to the AI")

        await poll_forever(db, self.settings, stop_event, no_ai)


def test_a_mail_in_the_inbox_becomes_one_ticket(dovecot, db, database_url, attachments_dir):
    user = USERS[next(_next_user)]
    box = make_mailbox(db, imap_url=dovecot.url(user), address=user.replace("@", "-imap@"))
    tickets = "SELECT count(*) FROM tickets WHERE organization_id = :o"
    with dovecot.client(user) as imap:
        imap.append(mail("attachments.eml"), "INBOX", flag_set=())
    with Poller(database_url, attachments_dir):
        wait_until(lambda: count(db, tickets, o=box.tenant.id) == 1)
        with dovecot.client(user) as imap:
            wait_until(lambda: imap.uids("UNSEEN") == [])
            imap.append(mail("attachments.eml"), "INBOX", flag_set=())  # the same mail again
            imap.append(mail("new_plain.eml"), "INBOX", flag_set=())
        wait_until(lambda: count(db, tickets, o=box.tenant.id) == 2)
        with dovecot.client(user) as imap:
            wait_until(lambda: imap.uids("UNSEEN") == [])
    assert count(db, "SELECT count(*) FROM attachments WHERE organization_id = :o", o=box.tenant.id) == 2
    assert count(db, "SELECT count(*) FROM tickets t JOIN customers c ON c.id = t.customer_id "
                     "WHERE t.organization_id = :o AND c.email = 'frank@customer.example' "
                     "AND t.title = 'Broken screen photo'", o=box.tenant.id) == 1


def test_a_wrong_password_reads_nothing_and_logs_no_secret(dovecot, db, database_url, attachments_dir, caplog):
    user = USERS[next(_next_user)]
    box = make_mailbox(db, imap_url=dovecot.url(user).replace("imap-test-password", "wrong-password"),
                       address=user.replace("@", "-bad@"))
    with dovecot.client(user) as imap:
        imap.append(mail("new_plain.eml"), "INBOX", flag_set=())
    with Poller(database_url, attachments_dir):
        time.sleep(2)
    assert count(db, "SELECT count(*) FROM tickets WHERE organization_id = :o", o=box.tenant.id) == 0
    assert "wrong-password" not in caplog.text
    with dovecot.client(user) as imap:
        assert len(imap.uids("UNSEEN")) == 1


def test_a_reply_read_in_the_same_round_as_its_original_joins_it(dovecot, db, database_url, attachments_dir):
    user = USERS[next(_next_user)]
    box = make_mailbox(db, imap_url=dovecot.url(user), address=user.replace("@", "-round@"))
    reply = mail("gmail_reply.eml", reply_to=box.address, subject="Device not connecting to WiFi",
                 in_reply_to="CAF=anna-0001@mail.gmail.com")
    with dovecot.client(user) as imap:
        for raw in (mail("new_plain.eml"), reply, mail("new_plain.eml")):  # the original, its reply, a copy
            imap.append(raw, "INBOX", flag_set=())
    with Poller(database_url, attachments_dir):
        wait_until(lambda: count(db, "SELECT count(*) FROM ticket_messages WHERE organization_id = :o",
                                 o=box.tenant.id) == 2)
        with dovecot.client(user) as imap:
            wait_until(lambda: imap.uids("UNSEEN") == [])
    assert count(db, "SELECT count(*) FROM tickets WHERE organization_id = :o", o=box.tenant.id) == 1
    assert count(db, "SELECT count(*) FROM ticket_messages WHERE organization_id = :o", o=box.tenant.id) == 2
