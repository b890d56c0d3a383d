"""Threading and noise rules as pure functions: no server, no database."""

from __future__ import annotations

from telemetron.mail.noise import noise_reason
from telemetron.mail.parse import ParsedMail, parse
from telemetron.mail.thread_match import (
    Candidates,
    match_thread,
    outgoing_message_id,
    reply_to_address,
    reply_token,
)
from tests.support.mail import mail

TICKET = "0b7e3f0c-6a43-4c39-9d3e-7a1b2c3d4e5f"
OTHER = "11111111-2222-4333-8444-555555555555"


def facts(**kwargs) -> ParsedMail:
    return ParsedMail(message_id="m@x", from_email="anna@customer.example", **kwargs)


def test_our_reply_token_wins_over_everything_else():
    ours = outgoing_message_id(TICKET, "acme.example")
    found = Candidates(by_token={reply_token(TICKET): TICKET}, by_message_id={"old@x": OTHER},
                       by_number={7: (OTHER, "anna@customer.example")})
    m = match_thread(facts(in_reply_to=[ours], references=["old@x"], subject="Re: [#7]"), found)
    assert (m.ticket_id, m.reason) == (TICKET, "reply to our message (reply token)")


def test_the_plus_address_alone_threads_a_reply_without_headers():
    to = reply_to_address("support@acme.example", TICKET)
    assert to.startswith("support+tlm-") and to.endswith("@acme.example")
    m = match_thread(facts(recipients=[to]), Candidates(by_token={reply_token(TICKET): TICKET}))
    assert m.ticket_id == TICKET


def test_a_token_of_no_ticket_of_this_organization_is_ignored():
    ours = outgoing_message_id(TICKET, "acme.example")
    m = match_thread(facts(in_reply_to=[ours]), Candidates())
    assert (m.ticket_id, m.reason) == (None, "new: its thread headers name no message of ours")


def test_references_then_subject_number():
    by_refs = match_thread(facts(references=["a@x", "b@x"]), Candidates(by_message_id={"a@x": OTHER}))
    assert (by_refs.ticket_id, by_refs.reason) == (OTHER, "References names message <a@x>")
    by_number = match_thread(facts(subject="AW: Lieferung [#7]"),
                             Candidates(by_number={7: (TICKET, "anna@customer.example")}))
    assert (by_number.ticket_id, by_number.reason) == (TICKET, "subject names ticket [#7]")


def test_a_subject_number_from_another_sender_opens_a_new_ticket():
    m = match_thread(ParsedMail(message_id="m@x", from_email="mallory@evil.example", subject="[#7] hello"),
                     Candidates(by_number={7: (TICKET, "anna@customer.example")}))
    assert (m.ticket_id, m.reason) == (None, "new: no thread headers")


def test_noise_rules():
    own = {"support@acme.example"}
    assert noise_reason(facts(headers={"auto-submitted": "auto-replied"}), own) == "auto-reply (Auto-Submitted: auto-replied)"
    assert noise_reason(facts(headers={"auto-submitted": "no"}), own) is None
    assert noise_reason(facts(headers={"x-autoreply": "yes"}), own) == "auto-reply (X-Autoreply)"
    assert noise_reason(facts(headers={"precedence": "list"}), own) == "bulk mail (Precedence: list)"
    assert noise_reason(ParsedMail(message_id="m", from_email="support@acme.example"), own) == "from our own mailbox"
    bounce = parse(mail("bounce.eml", bounced_id="tlm.abc.x@acme.example"), max_attachment=10**6)
    assert noise_reason(bounce, own) == "bounce"
    assert bounce.bounce_of == "tlm.abc.x@acme.example"
    assert bounce.bounce_reason.startswith("smtp; 550 5.1.1")


def test_real_world_replies_are_trimmed():
    apple = parse(mail("apple_reply.eml", subject="x", in_reply_to="y@x"), max_attachment=10**6)
    assert apple.reply.startswith("Merci, c’est réglé 👍") and "Pouvez-vous" not in apple.reply
    assert "Pouvez-vous" in apple.text  # the whole mail stays available to agents
    gmail = parse(mail("gmail_reply.eml", reply_to="s@x", subject="x", in_reply_to="y@x"), max_attachment=10**6)
    assert gmail.reply == "Resetting the network settings worked, thank you!"
    outlook = parse(mail("outlook_reply.eml", number="3"), max_attachment=10**6)
    assert outlook.subject == "AW: Lieferung verspätet [#3]" and outlook.from_name == "Jürgen Müller"
    assert "Wir haben Ihre Anfrage" not in outlook.reply and "Mit freundlichen" not in outlook.reply


def test_a_mail_that_cannot_be_read_still_has_an_identity():
    broken = parse(b"\xff\xfe\x00garbage without headers", max_attachment=10**6)
    assert broken.message_id.endswith("@telemetron.invalid")
    assert parse(b"\xff\xfe\x00garbage without headers", max_attachment=10**6).message_id == broken.message_id


def test_an_attachment_over_the_limit_is_named_not_kept():
    big = parse(mail("attachments.eml"), max_attachment=75)
    assert [p.filename for p in big.parts] == ["screen.png"]
    assert "receipt 2026.pdf" in big.notes[0] and "not kept" in big.notes[0]
