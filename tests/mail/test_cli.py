"""telemetron mailbox add|list|update|remove: URLs are secrets, encrypted at rest, never printed back."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.support.databases import count


def test_add_list_update_remove(cli, tenant, db, monkeypatch):
    added = cli("mailbox", "add", "--org", tenant.id, "Help@Acme.example", "--smtp-url",
                "smtps://help%40acme.example:s3cret-smtp@smtp.acme.example:465",
                "--imap-url", "imaps://help%40acme.example:s3cret-imap@imap.acme.example", "--json")
    assert added.exit_code == 0, added.output
    box = json.loads(added.output)
    assert set(box) >= {"id", "address", "inboundSecret"} and box["address"] == "help@acme.example"
    assert "s3cret" not in added.output
    with db.engine.connect() as conn:
        smtp, imap = conn.execute(text("SELECT smtp_url, imap_url FROM mailboxes WHERE id = :i"), {"i": box["id"]}).one()
    assert "s3cret" not in smtp and "s3cret" not in imap  # encrypted at rest

    listed = cli("mailbox", "list", "--org", tenant.id)
    assert "smtps://help%40acme.example@smtp.acme.example:465" in listed.output and "s3cret" not in listed.output

    again = cli("mailbox", "add", "--org", tenant.id, "help@acme.example", "--smtp-url", "smtp://h")
    assert again.exit_code == 1 and "already exists" in again.output
    bad = cli("mailbox", "add", "--org", tenant.id, "x@acme.example", "--smtp-url", "https://user:pw@h")
    assert bad.exit_code == 1 and "smtp-url must look like" in bad.output and "pw" not in bad.output

    renewed = cli("mailbox", "update", "--org", tenant.id, "help@acme.example", "--new-inbound-secret", "--no-imap",
                  "--json")
    assert json.loads(renewed.output)["inboundSecret"] != box["inboundSecret"]
    assert count(db, "SELECT count(*) FROM mailboxes WHERE id = :i AND imap_url IS NULL", i=box["id"]) == 1

    assert cli("mailbox", "remove", "--org", tenant.id, box["id"]).exit_code == 0
    assert count(db, "SELECT count(*) FROM mailboxes WHERE organization_id = :o", o=tenant.id) == 0


def test_without_a_secret_key_no_mailbox_is_added(cli, tenant, monkeypatch):
    monkeypatch.delenv("TELEMETRON_SECRET_KEY", raising=False)
    result = cli("mailbox", "add", "--org", tenant.id, "y@acme.example", "--smtp-url", "smtp://u:pw@h")
    assert result.exit_code == 1 and "TELEMETRON_SECRET_KEY is not set" in result.output


def test_another_organizations_mailbox_is_not_found(cli, tenant, other_tenant):
    added = json.loads(cli("mailbox", "add", "--org", tenant.id, f"z-{tenant.id}@acme.example", "--smtp-url",
                           "smtp://h", "--json").output)
    result = cli("mailbox", "remove", "--org", other_tenant.id, added["id"])
    assert result.exit_code == 1 and "no mailbox" in result.output
