"""POST /api/inbound/email end to end: a real server, real databases, real-world mails."""

from __future__ import annotations

from tests.support.databases import count
from tests.support.mail import mail, make_mailbox


def ticket(client, mailbox, ticket_id):
    response = client.get(f"/api/ext-v1/ticket/getTicket/{ticket_id}", headers=mailbox.tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticket"]


def test_a_mail_becomes_a_ticket_once(mail_http, mailbox, db):
    raw = mail("new_plain.eml")
    first = mailbox.post(mail_http, raw)
    assert first.status_code == 200, first.text
    assert first.json()["created"] is True
    t = ticket(mail_http, mailbox, first.json()["ticketId"])
    assert t["title"] == "Device not connecting to WiFi"
    assert t["customer"]["email"] == "anna@customer.example"
    assert "firmware update v2.3.1" in t["description"]
    assert t["channel"] == "email" and isinstance(t["number"], int)
    [message] = t["messages"]
    assert message["role"] == "customer" and message["channel"] == "email"
    assert "firmware update v2.3.1" in message["content"]
    assert message["threading"] == "new: no thread headers"
    again = mailbox.post(mail_http, raw)
    assert again.status_code == 200
    assert again.json()["ticketId"] == t["id"] and again.json()["created"] is False
    assert count(db, "SELECT count(*) FROM tickets WHERE organization_id = :o", o=mailbox.tenant.id) == 1


def test_wrong_or_missing_secret_is_401(mail_http, mailbox, other_tenant):
    assert mailbox.post(mail_http, mail("new_plain.eml"), secret="tlm_in_wrong").status_code == 401
    response = mail_http.post("/api/inbound/email", content=mail("new_plain.eml"))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_inbound_secret"


def test_broken_requests_get_the_error_body(mail_http, mailbox):
    empty = mailbox.post(mail_http, b"")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_mail"
    json_body = mail_http.post("/api/inbound/email", json={"from": "x"},
                               headers={"Authorization": f"Bearer {mailbox.secret}"})
    assert json_body.status_code == 415 and json_body.json()["field"] == "Content-Type"
    no_from = mailbox.post(mail_http, b"Subject: hi\r\nMessage-ID: <nofrom@x.example>\r\n\r\nhello\r\n")
    assert no_from.status_code == 400 and no_from.json()["field"] == "From"


def test_html_only_mail_is_text_never_html(mail_http, mailbox):
    response = mailbox.post(mail_http, mail("html_only.eml"))
    t = ticket(mail_http, mailbox, response.json()["ticketId"])
    content = t["messages"][0]["content"]
    assert "order page" in content and "Step 2: pay & fail" in content
    assert "<" not in content and "alert" not in content


def test_charsets_and_encoded_subjects(mail_http, mailbox):
    response = mailbox.post(mail_http, mail("utf8_subject.eml"))
    t = ticket(mail_http, mailbox, response.json()["ticketId"])
    assert t["title"] == "プリンターが動きません — help"
    assert t["messages"][0]["content"] == "プリンターが動きません。"


def test_attachments_are_stored_listed_and_named_safely(mail_http, mailbox, attachments_dir):
    response = mailbox.post(mail_http, mail("attachments.eml"))
    t = ticket(mail_http, mailbox, response.json()["ticketId"])
    names = {a["filename"]: a for a in t["attachments"]}
    assert set(names) == {"screen.png", "receipt 2026.pdf"}
    assert names["screen.png"]["inline"] is True and names["receipt 2026.pdf"]["contentType"] == "application/pdf"
    stored = list((attachments_dir / mailbox.tenant.id).rglob("receipt 2026.pdf"))
    assert len(stored) == 1 and stored[0].read_bytes().startswith(b"%PDF")
    assert not list(attachments_dir.rglob("etc"))


def test_forwarded_mail_keeps_the_forwarded_text(mail_http, mailbox):
    response = mailbox.post(mail_http, mail("forwarded.eml"))
    t = ticket(mail_http, mailbox, response.json()["ticketId"])
    assert "VAT on invoice 4711 is 19%" in t["messages"][0]["content"]


def test_auto_replies_and_our_own_mail_make_nothing(mail_http, mailbox, db):
    auto = mailbox.post(mail_http, mail("autoreply.eml"))
    assert auto.status_code == 200 and auto.json()["ignored"].startswith("auto-reply")
    own = mailbox.post(mail_http, mail("new_plain.eml").replace(b"anna@customer.example", mailbox.address.encode()))
    assert own.json() == {"ignored": "from our own mailbox"}
    bulk = mailbox.post(mail_http, mail("new_plain.eml").replace(b"Subject:", b"Precedence: bulk\r\nSubject:", 1))
    assert bulk.json() == {"ignored": "bulk mail (Precedence: bulk)"}
    assert count(db, "SELECT count(*) FROM tickets WHERE organization_id = :o", o=mailbox.tenant.id) == 0


def test_new_tickets_per_sender_are_capped(mail_http, mailbox, db):
    answers = [mailbox.post(mail_http, mail("new_plain.eml").replace(b"anna-0001", f"flood-{i}".encode())).json()
               for i in range(4)]
    assert [a.get("created") for a in answers[:3]] == [True, True, True]
    assert "new tickets an hour" in answers[3]["ignored"]


def test_subject_number_joins_only_from_the_tickets_customer(mail_http, mailbox):
    first = mailbox.post(mail_http, mail("new_plain.eml").replace(b"anna@customer.example", b"juergen@firma.example"))
    t = ticket(mail_http, mailbox, first.json()["ticketId"])
    reply = mailbox.post(mail_http, mail("outlook_reply.eml", number=str(t["number"])))
    assert reply.json() == {"ticketId": t["id"], "created": False, "reopened": False}
    joined = ticket(mail_http, mailbox, t["id"])["messages"][-1]
    assert joined["threading"] == f"subject names ticket [#{t['number']}]"
    assert joined["content"].startswith("Hallo,") and "Können Sie nachsehen?" in joined["content"]
    assert "Wir haben Ihre Anfrage erhalten" not in joined["content"]
    stranger = mail("outlook_reply.eml", number=str(t["number"])).replace(b"juergen@firma.example", b"x@other.example")
    assert mailbox.post(mail_http, stranger.replace(b"AM0PR01MB1234ABCD@", b"other@")).json()["created"] is True


def test_another_organizations_thread_is_never_joined(mail_http, mailbox, db):
    other = make_mailbox(db)
    theirs = other.post(mail_http, mail("new_plain.eml")).json()["ticketId"]
    t = ticket(mail_http, other, theirs)
    reply = mail("gmail_reply.eml", reply_to=mailbox.address, subject=t["title"], in_reply_to="CAF=anna-0001@mail.gmail.com")
    mine = mailbox.post(mail_http, reply).json()
    assert mine["created"] is True and mine["ticketId"] != theirs


def test_a_mail_that_makes_no_sense_is_kept_not_lost(mail_http, mailbox, db):
    raw = b"From: Odd Sender <odd@customer.example>\r\nSubject: odd\r\nContent-Type: multipart/mixed\r\n\r\n\xff\xfe junk"
    response = mailbox.post(mail_http, raw)
    assert response.status_code == 200 and response.json()["created"] is True
    t = ticket(mail_http, mailbox, response.json()["ticketId"])
    assert t["title"] == "odd" and t["customer"]["email"] == "odd@customer.example"
    assert [a["filename"] for a in t["attachments"]] == ["attachment-1.bin"]
    assert count(db, "SELECT count(*) FROM ticket_messages WHERE ticket_id = :t AND email_source IS NOT NULL",
                 t=t["id"]) == 1


def test_the_same_mail_posted_at_once_is_one_message(mail_http, mailbox, db, mail_server):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    raw = mail("new_plain.eml").replace(b"anna-0001", b"race-0001")

    def post(_):
        with httpx.Client(base_url=mail_server.url, timeout=30) as client:
            return mailbox.post(client, raw)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.json()["ticketId"] for a in answers}) == 1
    assert sum(a.json()["created"] for a in answers) == 1
    assert count(db, "SELECT count(*) FROM ticket_messages WHERE organization_id = :o", o=mailbox.tenant.id) == 1


def test_a_new_email_ticket_is_categorized_by_the_ai_like_create_ticket(mail_http, db):
    box = make_mailbox(db, ai=True)
    answer = box.post(mail_http, mail("new_plain.eml"))
    t = ticket(mail_http, box, answer.json()["ticketId"])
    assert t["categoryCandidates"] and t["categorySource"] in ("ai", "none")  # the AI was asked
    assert t["categoryCandidates"][0]["category"] == "Connectivity"  # subject and body speak of WiFi
