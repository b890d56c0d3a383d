"""The admins' mailbox pages: a mailbox added and changed from the web app, through the CLI's
functions (audited alike); the inbound secret shown once; passwords never sent back to the page,
a blank password keeping the stored one; another organization's mailbox a 404."""

from __future__ import annotations

import re

import pytest

from telemetron.db.scoped import Scoped
from telemetron.mail import mailboxes
from tests.support.databases import count
from tests.support.web import Browser, make_web_org

PAGE = "/admin/mailboxes"
SMTP = {"smtp_host": "smtp.acme.example", "smtp_port": "587", "smtp_security": "smtp+starttls",
        "smtp_user": "help@acme.example", "smtp_password": "s3cret:/@pw"}


@pytest.fixture
def admin(mail_server, db):
    org = make_web_org(db)
    with Browser(base_url=mail_server.url, timeout=30, follow_redirects=False) as b:
        assert b.sign_in(org.admin.email).status_code == 303
        b.org = org
        yield b


def stored(db, org_id: str, address: str) -> dict:
    def unit(conn):
        row = mailboxes.get_mailbox(Scoped(db, conn, org_id), address)
        return {"smtp": mailboxes.connection_url(row, "smtp_url"), "imap": mailboxes.connection_url(row, "imap_url"),
                "id": row["id"], "hash": row["inbound_secret_hash"]}

    return db.run_sync(unit)


def add(admin, address: str, **fields) -> object:
    page = admin.get(PAGE).text
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return admin.post(PAGE, data={"address": address, **SMTP, "imap_host": "", "imap_port": "", "imap_security": "imaps",
                                  "imap_user": "", "imap_password": "", "imap_folder": "", **fields,
                                  "once": once, "csrf": csrf})


def test_an_admin_adds_a_mailbox_whose_secret_is_shown_once(admin, db):
    address = f"help-{admin.org.id[4:]}@acme.example"
    added = add(admin, address, imap_host="imap.acme.example", imap_port="993", imap_user="help",
                imap_password="imap pw", imap_folder="Support")
    assert added.status_code == 201, added.text
    secret = re.search(r'<code id="inbound-secret">(tlm_in_[^<]+)</code>', added.text).group(1)
    assert "s3cret" not in added.text and "imap pw" not in added.text
    urls = stored(db, admin.org.id, address)
    assert urls["smtp"] == "smtp+starttls://help%40acme.example:s3cret%3A%2F%40pw@smtp.acme.example:587"
    assert urls["imap"] == "imaps://help:imap%20pw@imap.acme.example:993/Support"
    listing = admin.get(PAGE).text
    assert secret not in listing and "smtp+starttls://help%40acme.example@smtp.acme.example:587" in listing
    assert count(db, "select count(*) from audit_events where organization_id = :o and action = 'mailbox.added' "
                     "and actor_label = :who", o=admin.org.id, who=admin.org.admin.email) == 1


def test_a_form_with_a_mistake_comes_back_without_its_passwords(admin, db):
    refused = add(admin, f"x-{admin.org.id[4:]}@acme.example", smtp_port="none")
    assert refused.status_code == 400 and "The sending (SMTP) port is a number from 1 to 65535" in refused.text
    assert 'value="smtp.acme.example"' in refused.text and "s3cret" not in refused.text
    refused = add(admin, "not an address")
    assert refused.status_code == 400 and "s3cret" not in refused.text
    assert count(db, "select count(*) from mailboxes where organization_id = :o", o=admin.org.id) == 0


def test_an_admin_changes_the_server_keeping_the_password_then_stops_imap_and_removes_it(admin, db):
    address = f"desk-{admin.org.id[4:]}@acme.example"
    assert add(admin, address, imap_host="imap.acme.example", imap_port="993", imap_user="desk",
               imap_password="pw2").status_code == 201
    mailbox_id = stored(db, admin.org.id, address)["id"]
    page = admin.get(f"{PAGE}/{mailbox_id}").text
    assert 'value="smtp.acme.example"' in page and 'value="help@acme.example"' in page
    assert "s3cret" not in page and "pw2" not in page  # never sent back, even encoded
    assert "s3cret%3A" not in page

    saved = admin.submit(f"{PAGE}/{mailbox_id}", f"{PAGE}/{mailbox_id}", {
        **SMTP, "smtp_host": "mail.acme.example", "smtp_port": "465", "smtp_security": "smtps", "smtp_password": "",
        "imap_host": "imap.acme.example", "imap_port": "993", "imap_security": "imaps", "imap_user": "desk",
        "imap_password": "", "imap_folder": ""})
    assert saved.status_code == 303 and "Mailbox saved." in admin.get(saved.headers["location"]).text
    urls = stored(db, admin.org.id, address)
    assert urls["smtp"] == "smtps://help%40acme.example:s3cret%3A%2F%40pw@mail.acme.example:465"
    assert urls["imap"] == "imaps://desk:pw2@imap.acme.example:993"  # unchanged: polling keeps its place
    changed = db.run_sync(lambda conn: conn.exec_driver_sql(
        "select cast(details as text) from audit_events where action = 'mailbox.updated' order by id desc").first()[0])
    assert "smtp_url" in changed and "imap_url" not in changed

    before = stored(db, admin.org.id, address)["hash"]
    saved = admin.submit(f"{PAGE}/{mailbox_id}", f"{PAGE}/{mailbox_id}", {
        **SMTP, "smtp_password": "", "imap_host": "", "new_secret": "on"})
    assert saved.status_code == 200 and re.search(r'id="inbound-secret">tlm_in_', saved.text)
    urls = stored(db, admin.org.id, address)
    assert urls["imap"] is None and urls["hash"] != before

    removed = admin.submit(f"{PAGE}/{mailbox_id}", f"{PAGE}/{mailbox_id}/remove", {})
    assert removed.status_code == 303 and "Mailbox removed" in admin.get(removed.headers["location"]).text
    assert count(db, "select count(*) from mailboxes where id = :m", m=mailbox_id) == 0


def test_another_organizations_mailbox_is_a_404(admin, db):
    other = make_web_org(db)
    theirs = db.run_sync(lambda conn: mailboxes.add_mailbox(
        Scoped(db, conn, other.id), address=f"them-{other.id[4:]}@acme.example", smtp_url="smtp://127.0.0.1:25"))
    assert admin.get(f"{PAGE}/{theirs['id']}").status_code == 404
    assert admin.submit(PAGE, f"{PAGE}/{theirs['id']}", {**SMTP}).status_code == 404
    assert admin.submit(PAGE, f"{PAGE}/{theirs['id']}/remove", {}).status_code == 404
    assert count(db, "select count(*) from mailboxes where id = :m", m=theirs["id"]) == 1


def test_a_mailbox_whose_urls_cannot_be_decrypted_can_be_set_again(admin, db, monkeypatch):
    address = f"old-{admin.org.id[4:]}@acme.example"
    assert add(admin, address).status_code == 201
    mailbox_id = stored(db, admin.org.id, address)["id"]
    monkeypatch.setenv("TELEMETRON_SECRET_KEY", "a-key-that-changed")
    page = admin.get(f"{PAGE}/{mailbox_id}")
    assert page.status_code == 200 and 'name="smtp_host" value=""' in page.text
    saved = admin.submit(f"{PAGE}/{mailbox_id}", f"{PAGE}/{mailbox_id}", {**SMTP, "imap_host": ""})
    assert saved.status_code == 303
    assert stored(db, admin.org.id, address)["smtp"].endswith("@smtp.acme.example:587")
