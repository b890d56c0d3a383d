"""The ticket page of an email ticket: number, channel, threading, attachments (agents of the
organization only), the note box apart from the reply box, and replies sent with the agent's name."""

from __future__ import annotations

import re
import time

import pytest

from telemetron.db.scoped import Scoped
from telemetron.mail.mailboxes import add_mailbox
from tests.mail.smtp_server import SmtpServer
from tests.support.databases import count
from tests.support.mail import mail
from tests.support.notifications import ThreadWorker
from tests.support.web import Browser, make_web_org


@pytest.fixture
def browser(mail_server):
    with Browser(base_url=mail_server.url, timeout=30, follow_redirects=False) as b:
        yield b


def connect(db, org, smtp_url="smtp://127.0.0.1:1") -> str:
    def unit(conn):
        return add_mailbox(Scoped(db, conn, org.id), address=f"help-{org.id[4:]}@acme.example", smtp_url=smtp_url)

    return db.run_sync(unit)["inboundSecret"]


def post_mail(browser, secret, raw) -> str:
    response = browser.post("/api/inbound/email", content=raw,
                            headers={"Authorization": f"Bearer {secret}", "Content-Type": "message/rfc822"})
    assert response.status_code == 200, response.text
    return response.json()["ticketId"]


def test_the_page_shows_the_mail_its_files_and_a_separate_note_box(db, browser, mail_server):
    org, other = make_web_org(db), make_web_org(db)
    ticket_id = post_mail(browser, connect(db, org), mail("attachments.eml"))
    assert browser.get(f"/tickets/{ticket_id}").status_code == 303  # signed out: to the sign-in page
    assert browser.sign_in(org.agent.email).status_code == 303
    page = browser.get(f"/tickets/{ticket_id}").text
    assert re.search(r'id="number">#\d+<', page) and 'id="channel">email<' in page
    assert "Threading: new: no thread headers" in page
    assert f'action="/tickets/{ticket_id}/note"' in page and "Internal note" in page
    link = re.search(r'href="(/tickets/[^"]+/attachments/[^"]+)">receipt 2026.pdf<', page).group(1)
    download = browser.get(link)
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    original = browser.get(re.search(r'href="(/tickets/[^"]+/original\.eml)"', page).group(1))
    assert original.status_code == 200 and b"Message-ID: <attach-0001@customer.example>" in original.content

    noted = browser.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/note", {"note": "Screen is cracked <b>"})
    assert noted.status_code == 303
    page = browser.get(noted.headers["location"]).text
    assert 'class="message role-agent note"' in page and "Screen is cracked &lt;b&gt;" in page
    assert count(db, "SELECT count(*) FROM outbox WHERE ticket_id = :t", t=ticket_id) == 0

    stranger = Browser(base_url=mail_server.url, timeout=30, follow_redirects=False)
    assert stranger.sign_in(other.agent.email).status_code == 303
    assert stranger.get(link).status_code == 404
    stranger.close()


def test_a_reply_from_the_web_app_is_mailed_with_the_agents_name(db, browser, database_url):
    smtp = SmtpServer().start()
    worker = ThreadWorker(database_url, "web-mail-worker").start()
    try:
        org = make_web_org(db)
        ticket_id = post_mail(browser, connect(db, org, smtp.url), mail("new_plain.eml"))
        browser.sign_in(org.agent.email)
        sent = browser.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/reply", {"content": "On it!", "once": "x1"})
        assert sent.status_code == 303
        [(_s, _r, message)] = smtp.inbox.wait_for(1)
        assert message["From"].addresses[0].display_name == org.agent.name
        assert message.get_body(("plain",)).get_content().strip() == "On it!"
        for _ in range(100):  # the worker records the delivery just after the server took the mail
            page = browser.get(f"/tickets/{ticket_id}").text
            if "email sent" in page:
                break
            time.sleep(0.1)
        assert '<span class="delivery delivery-sent">email sent</span>' in page
    finally:
        worker.stop()
        smtp.stop()


def test_admins_see_the_mailboxes_without_passwords(db, browser, mail_server):
    org = make_web_org(db)

    def unit(conn):
        add_mailbox(Scoped(db, conn, org.id), address=f"desk-{org.id[4:]}@acme.example",
                    smtp_url="smtps://desk:top-secret@smtp.acme.example")

    db.run_sync(unit)
    browser.sign_in(org.agent.email)
    assert browser.get("/admin/mailboxes").status_code == 403
    with Browser(base_url=mail_server.url, timeout=30, follow_redirects=False) as admin:
        admin.sign_in(org.admin.email)
        page = admin.get("/admin/mailboxes").text
    assert f"desk-{org.id[4:]}@acme.example" in page and "smtps://desk@smtp.acme.example" in page
    assert "top-secret" not in page
