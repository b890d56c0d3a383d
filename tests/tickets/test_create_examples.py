"""Every example of the user's document (tests/spec/createTicket.original.txt), replayed verbatim.

The curl commands are read out of the document itself and sent as they are, with only the host
and the key replaced, as a client copying them from the documentation would.
"""

from __future__ import annotations

import re
import shlex
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from telemetron.cli import app as cli_app
from telemetron.config import Settings, get_settings
from tests.support.databases import count
from tests.support.servers import LiveServer

SPEC = Path(__file__).parents[1] / "spec" / "createTicket.original.txt"
SHARED_SPEC = Path(__file__).parents[3] / "shared" / "spec" / "createTicket.original.txt"


def curl_examples() -> list[dict]:
    """Parse each ``curl ...`` command of the document into method, path, headers and body."""
    text = SPEC.read_text()
    commands = re.findall(r"^curl .*?(?=\n\{|\n\n|\Z)", text, flags=re.S | re.M)
    examples = []
    for command in commands:
        args = shlex.split(command.replace("\\\n", " "))
        request = {"headers": {}, "body": None, "method": "GET", "url": None}
        it = iter(args[1:])
        for arg in it:
            if arg == "-X":
                request["method"] = next(it)
            elif arg == "-H":
                name, _, value = next(it).partition(":")
                request["headers"][name.strip()] = value.strip()
            elif arg == "-d":
                request["body"] = next(it)
                request["method"] = request["method"] or "POST"
            else:
                request["url"] = arg
        examples.append(request)
    return examples


EXAMPLES = curl_examples()


def test_the_document_has_the_examples_we_expect():
    # Three distinct examples, the first repeated twice in the document.
    assert len(EXAMPLES) == 5
    assert all(e["url"] == "https://admin.telemetron.ai/api/ext-v1/ticket/createTicket" for e in EXAMPLES)
    assert all(e["headers"]["x-api-key"] == "your_api_key_here" for e in EXAMPLES)


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no shared/ beside the checkout")
def test_our_copy_of_the_document_is_the_users():
    assert SPEC.read_bytes() == SHARED_SPEC.read_bytes()


def _send(http, tenant, example):
    path = example["url"].removeprefix("https://admin.telemetron.ai")
    headers = dict(example["headers"])
    headers["x-api-key"] = tenant.api_key
    return http.request(example["method"], path, headers=headers, content=example["body"])


def _assert_created(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Ticket created successfully"
    uuid.UUID(body["ticketId"])
    return body


@pytest.mark.parametrize("index", [0, 1, 4])
def test_customer_email_example(http, db, tenant, index):
    body = _assert_created(_send(http, tenant, EXAMPLES[index]))
    assert body["category"] == "Connectivity"
    assert body["categorySource"] == "provided"
    assert count(db, "select count(*) from customers where organization_id = :o and email = 'john.doe@example.com'", o=tenant.id) == 1
    row_priority = count(db, "select count(*) from tickets where id = :t and priority = 'high' and title = 'Device not connecting to WiFi'", t=body["ticketId"])
    assert row_priority == 1


def test_customer_id_example(http, db, tenant):
    # The document's customer id names a customer "from a previous API call": give this tenant
    # that customer, then send the example verbatim.
    from telemetron.db.engine import utcnow

    def unit(conn):
        conn.exec_driver_sql("DELETE FROM customers WHERE id = 'cust_a1b2c3d4e5f6' AND NOT EXISTS (SELECT 1 FROM tickets WHERE customer_id = 'cust_a1b2c3d4e5f6')")
        from telemetron.db.tables import customers

        conn.execute(customers.insert().values(id="cust_a1b2c3d4e5f6", organization_id=tenant.id, email="battery@example.com", name="battery", metadata={}, created_at=utcnow(), updated_at=utcnow()))

    example = EXAMPLES[2]
    assert '"customerId": "cust_a1b2c3d4e5f6"' in example["body"]
    # Before the customer exists: the documented 404.
    missing = _send(http, tenant, example)
    assert missing.status_code == 404
    assert missing.json()["error"] == "Customer not found or does not belong to this organization"
    if count(db, "select count(*) from customers where id = 'cust_a1b2c3d4e5f6'") == 0:
        db.run_sync(unit)
    else:
        pytest.skip("the fixed customer id belongs to another test tenant in this database")
    body = _assert_created(_send(http, tenant, example))
    assert body["customerId"] == "cust_a1b2c3d4e5f6"
    assert count(db, "select count(*) from tickets where id = :t and priority = 'medium' and customer_id = 'cust_a1b2c3d4e5f6'", t=body["ticketId"]) == 1


def test_messages_example(http, db, tenant):
    example = EXAMPLES[3]
    assert "'\\''" not in example["body"] and "I'm sorry" in example["body"]  # the shell quoting was undone
    body = _assert_created(_send(http, tenant, example))
    assert body["descriptionGenerated"] is True
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"select role, content from ticket_messages where ticket_id = '{body['ticketId']}' order by position"
        ).all()
        description = conn.exec_driver_sql(f"select description from tickets where id = '{body['ticketId']}'").scalar_one()
    assert [r[0] for r in rows] == ["customer", "bot", "customer"]
    assert rows[1][1] == "I'm sorry to hear that. How long has this been happening?"
    # The customer's own words come first in the generated description.
    assert description.startswith("My device gets very hot when I plug it in to charge. Started about a week ago")
    assert "Bot: I'm sorry to hear that." in description


def test_every_example_works_verbatim_against_the_demo_organization(tmp_path, monkeypatch):
    """What a newcomer does: `python3 dev.py run` (db upgrade, demo, serve), then paste the document's
    curls with the printed key. The customerId example's customer is the demo's John Doe."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("TELEMETRON_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
        out = runner.invoke(cli_app, ["demo"]).output
        assert runner.invoke(cli_app, ["demo"]).exit_code == 0  # again: still one John Doe, same id
    finally:
        get_settings.cache_clear()
    key = re.search(r"a new API key: (tlm_\S+)", out).group(1)
    server = LiveServer(Settings(database_url=url, run_worker=False)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            demo = type("Demo", (), {"api_key": key})
            bodies = [_assert_created(_send(http, demo, example)) for example in EXAMPLES]
    finally:
        server.stop()
    assert {b["customerId"] for b in bodies} == {"cust_a1b2c3d4e5f6"}  # all of them John Doe's
    assert not any(b["customerCreated"] for b in bodies)
