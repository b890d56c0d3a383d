"""An agent's reply reaches a real SMTP server, threaded; the customer's answer joins the ticket."""

from __future__ import annotations

import time

import pytest

from tests.mail.smtp_server import SmtpServer
from tests.support.databases import count
from tests.support.mail import mail, make_mailbox
from tests.support.notifications import ThreadWorker


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def worker(database_url):
    started = []

    def start():
        started.append(ThreadWorker(database_url, "mail-worker").start())

    yield start
    for w in started:
        w.stop()


def get(client, box, ticket_id):
    return client.get(f"/api/ext-v1/ticket/getTicket/{ticket_id}", headers=box.tenant.headers).json()["ticket"]


def add(client, box, ticket_id, **body):
    response = client.post("/api/ext-v1/ticket/addMessage", headers=box.tenant.headers,
                           json={"ticketId": ticket_id, **body})
    assert response.status_code == 200, response.text
    return response.json()


def wait_state(client, box, ticket_id, message_id, state, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = next(m for m in get(client, box, ticket_id)["messages"] if m["id"] == message_id)
        if message["delivery"] and message["delivery"]["state"] == state:
            return message
        time.sleep(0.1)
    raise AssertionError(f"message {message_id} never became {state}: {message['delivery']}")


def test_reply_goes_out_threaded_and_the_answer_comes_back(mail_http, db, smtp, worker):
    box = make_mailbox(db, smtp_url=smtp.url)
    ticket_id = box.post(mail_http, mail("new_plain.eml")).json()["ticketId"]
    number = get(mail_http, box, ticket_id)["number"]
    worker()
    note = add(mail_http, box, ticket_id, role="agent", content="Maybe the router firmware?", internal=True)
    reply = add(mail_http, box, ticket_id, role="agent", content="Could you try resetting the network settings?\n\nBen")
    [(sender, recipients, sent)] = smtp.inbox.wait_for(1)
    assert sender == box.address and recipients == ["anna@customer.example"]
    assert sent["Subject"] == f"Re: Device not connecting to WiFi [#{number}]"
    assert sent["In-Reply-To"] == "<CAF=anna-0001@mail.gmail.com>"
    assert sent["From"].addresses[0].addr_spec == box.address
    assert "+tlm-" in sent["Reply-To"]
    assert sent.get_body(("plain",)).get_content().startswith("Could you try resetting")
    assert "<p>Could you try resetting the network settings?</p>" in sent.get_body(("html",)).get_content()
    delivered = wait_state(mail_http, box, ticket_id, reply["messageId"], "sent")
    assert delivered["channel"] == "api" and delivered["delivery"]["error"] is None
    assert next(m for m in get(mail_http, box, ticket_id)["messages"] if m["id"] == note["messageId"])["delivery"] is None

    mail_http.post("/api/ext-v1/ticket/updateTicket", headers=box.tenant.headers,
                   json={"ticketId": ticket_id, "status": "resolved"})
    our_id = sent["Message-ID"].strip("<>")
    answer = box.post(mail_http, mail("gmail_reply.eml", reply_to=sent["Reply-To"], subject=sent["Subject"],
                                      in_reply_to=our_id))
    assert answer.json() == {"ticketId": ticket_id, "created": False, "reopened": True}
    ticket = get(mail_http, box, ticket_id)
    assert ticket["status"] == "open"
    joined = ticket["messages"][-1]
    assert joined["content"] == "Resetting the network settings worked, thank you!"
    assert joined["threading"] == "reply to our message (reply token)"
    time.sleep(0.5)
    assert len(smtp.inbox.messages) == 1  # the note was never sent, nor anything for the customer's answer

    auto = box.post(mail_http, mail("autoreply.eml"))
    assert auto.json()["ignored"].startswith("auto-reply")
    assert count(db, "SELECT count(*) FROM ticket_messages WHERE ticket_id = :t", t=ticket_id) == 4


def test_a_refused_recipient_and_a_bounce_show_on_the_message(mail_http, db, smtp, worker, cli):
    box = make_mailbox(db, smtp_url=smtp.url)
    smtp.inbox.refuse.add("anna@customer.example")
    ticket_id = box.post(mail_http, mail("new_plain.eml")).json()["ticketId"]
    worker()
    refused = add(mail_http, box, ticket_id, role="agent", content="Hello?")
    failed = wait_state(mail_http, box, ticket_id, refused["messageId"], "failed")
    assert "550" in failed["delivery"]["error"]
    listed = cli("outbox", "list", "--org", box.tenant.id, "--status", "failed")
    assert "email" in listed.output and "ticket.agent_replied" in listed.output and "550" in listed.output

    smtp.inbox.refuse.clear()
    accepted = add(mail_http, box, ticket_id, role="agent", content="Second try")
    [(_s, _r, sent)] = smtp.inbox.wait_for(1)
    wait_state(mail_http, box, ticket_id, accepted["messageId"], "sent")
    bounce = box.post(mail_http, mail("bounce.eml", bounced_id=sent["Message-ID"].strip("<>")))
    assert bounce.json() == {"ignored": "bounce"}
    bounced = next(m for m in get(mail_http, box, ticket_id)["messages"] if m["id"] == accepted["messageId"])
    assert bounced["delivery"]["state"] == "failed"
    assert bounced["delivery"]["error"].startswith("bounced: smtp; 550 5.1.1")


def test_an_unreachable_smtp_server_is_retried_and_says_why(mail_http, db, worker):
    box = make_mailbox(db, smtp_url="smtp://127.0.0.1:1")  # nothing listens there
    ticket_id = box.post(mail_http, mail("new_plain.eml")).json()["ticketId"]
    worker()
    reply = add(mail_http, box, ticket_id, role="agent", content="Are you there?")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        message = next(m for m in get(mail_http, box, ticket_id)["messages"] if m["id"] == reply["messageId"])
        if message["delivery"]["error"]:
            break
        time.sleep(0.1)
    assert message["delivery"]["state"] == "pending"  # retried with backoff, not given up
    assert message["delivery"]["error"].startswith("cannot reach the SMTP server")
    assert count(db, "SELECT count(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.message_id "
                     "WHERE o.ticket_id = :t AND a.outcome = 'retry'", t=ticket_id) >= 1
