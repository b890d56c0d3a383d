"""One pipeline for every incoming mail, whether a forwarder posted it or IMAP polling read it.

``receive`` parses the mail and writes its files off the event loop, then stores it in one unit
of work (``store``): noise is dropped (a bounce marks our mail failed), a Message-ID already
stored is the same mail again (nothing new), a reply joins its ticket (``thread_match``) and
reopens it when resolved, anything else opens a ticket through ``tickets.create.create_ticket``,
exactly as createTicket does (customer by email, AI category, routing, Slack, webhooks).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from telemetron.customers.service import normalize_email
from telemetron.db.engine import Database, utcnow
from telemetron.db.scoped import Scoped, tenant_select, tenant_update
from telemetron.db.tables import customers, mailboxes, organizations, ticket_messages, tickets
from telemetron.errors import InvalidRequest
from telemetron.mail import attachments, outbound
from telemetron.mail.noise import noise_reason
from telemetron.mail.parse import ParsedMail, parse
from telemetron.mail.thread_match import Candidates, match_thread, reply_token, subject_numbers, tokens_of
from telemetron.orgs import config as org_config
from telemetron.tickets.create import categorizer_request, create_ticket
from telemetron.tickets.requests import parse_create_ticket, utf8_size_over
from telemetron.tickets.update import add_message, lock_ticket

logger = logging.getLogger("telemetron.mail")
UNREADABLE = "(This mail could not be read: {problem}. Its original is attached to the ticket.)"
_m = ticket_messages.c
_t = tickets.c
# Built once (building a statement per mail cost more than running it).
_MAILBOX = (select(mailboxes, organizations.c.config_version)
            .join(organizations, organizations.c.id == mailboxes.c.organization_id)
            .where(mailboxes.c.id == bindparam("mbx")))
_OWN = tenant_select(mailboxes, mailboxes.c.address)
_DUPLICATE = tenant_select(ticket_messages, _m.ticket_id).where(_m.email_message_id == bindparam("mid"))
_SET_MAILBOX = tenant_update(tickets).where(_t.id == bindparam("tid")).values(mailbox_id=bindparam("mbx"))
_FIRST_MESSAGE = (tenant_update(ticket_messages).where(_m.ticket_id == bindparam("tid"), _m.position == 0)
                  .values(channel="email", email_message_id=bindparam("mid"), thread_reason=bindparam("reason"),
                          original_content=bindparam("original"), email_source=bindparam("source"))
                  .returning(_m.id))
_TICKETS_BY_ID = tenant_select(tickets, _t.id).where(_t.id.in_(bindparam("ids", expanding=True)))
_MESSAGES_BY_EMAIL_ID = (tenant_select(ticket_messages, _m.email_message_id, _m.ticket_id)
                         .where(_m.email_message_id.in_(bindparam("mids", expanding=True))))
_TICKETS_BY_NUMBER = (tenant_select(tickets, _t.number, _t.id, customers.c.email)
                      .select_from(tickets.join(customers, customers.c.id == _t.customer_id))
                      .where(_t.number.in_(bindparam("numbers", expanding=True))))
_NEW_BY_SENDER = (tenant_select(tickets, func.count())
                  .select_from(tickets.join(customers, customers.c.id == _t.customer_id))
                  .where(customers.c.email == bindparam("email"), _t.mailbox_id.is_not(None),
                         _t.created_at > bindparam("since")))


async def receive(db: Database, settings, mailbox: dict, raw: bytes, *, categorize) -> dict[str, Any]:
    """Store one raw mail for ``mailbox``; answers ``{"ticketId", "created"}`` or ``{"ignored"}``.

    ``categorize(ask)`` is the server's categorizer (a coroutine), asked only when the new
    ticket needs it, as createTicket does.
    """
    mail = await asyncio.to_thread(parse, raw, max_attachment=settings.mail_max_attachment_bytes)
    root = attachments.folder(settings)
    source, files, target = await asyncio.to_thread(attachments.save_files, root, mailbox["organization_id"], raw,
                                                    mail.parts)
    prediction = None
    result: dict[str, Any] = {}
    try:
        for attempt in range(3):
            try:
                result = await db.run(store, db, settings, mailbox["id"], mail, source, files, prediction)
                break
            except NeedsPrediction as need:  # a new ticket the AI categorizes, asked outside the unit
                prediction = await categorize(need.question)
            except IntegrityError:  # the same mail stored meanwhile by another request: now a duplicate
                if attempt == 2:
                    raise
    finally:
        if not result.get("stored"):
            await asyncio.to_thread(shutil.rmtree, target, True)
    result.pop("stored", None)
    return result


class NeedsPrediction(Exception):
    """Raised by ``store`` before it writes anything, when the new ticket needs the categorizer:
    ``receive`` asks it off the event loop (as createTicket does) and runs the unit again."""

    def __init__(self, question) -> None:
        super().__init__("the new ticket needs the categorizer")
        self.question = question


def store(conn, db: Database, settings, mailbox_id: str, mail: ParsedMail, source: str,
          files: list[attachments.Stored], prediction) -> dict[str, Any]:
    mailbox = conn.execute(_MAILBOX, {"mbx": mailbox_id}).mappings().one()
    scoped = Scoped(db, conn, mailbox["organization_id"])
    own = set(scoped.execute(_OWN).scalars())
    reason = noise_reason(mail, own | {mailbox["address"]})
    if reason == "bounce":
        if mail.bounce_of:
            outbound.mark_bounced(scoped, mail.bounce_of, mail.bounce_reason)
        return {"ignored": "bounce"}
    if reason:
        return {"ignored": reason}
    existing = scoped.execute(_DUPLICATE, {"mid": mail.message_id}).scalar()
    if existing is not None:
        return {"ticketId": existing, "created": False, "duplicate": True}
    sender = _sender(mail)
    match = match_thread(mail, candidates(scoped, mail))
    now = utcnow()
    content, original = _content(mail, reply=match.ticket_id is not None, limit=settings.max_text_bytes)
    columns = {"email_message_id": mail.message_id, "thread_reason": match.reason, "original_content": original,
               "email_source": source}
    if match.ticket_id is not None:
        ticket = lock_ticket(scoped, match.ticket_id)
        added = add_message(scoped, ticket, "customer", content, now=now, channel="email", email=columns)
        attachments.record(scoped, ticket.id, added.id, files)
        return {"ticketId": ticket.id, "created": False, "reopened": added.reopened, "stored": True}
    if _over_cap(scoped, sender, now, settings.mail_new_tickets_per_sender_per_hour):
        return {"ignored": f"over {settings.mail_new_tickets_per_sender_per_hour} new tickets an hour from this sender"}
    request, _warnings = parse_create_ticket(
        {"title": _title(mail.subject), "description": content, "customerEmail": sender,
         "messages": [{"role": "customer", "content": content}]}, max_text=settings.max_text_bytes)
    config = org_config.cache.get(scoped, mailbox["config_version"])
    if prediction is None and (question := categorizer_request(scoped.org_id, config, request)) is not None:
        raise NeedsPrediction(question)
    created = create_ticket(scoped, request, config=config, prediction=prediction)
    scoped.execute(_SET_MAILBOX, {"tid": created.id, "mbx": mailbox["id"]})
    first = scoped.execute(_FIRST_MESSAGE, {"tid": created.id, "mid": mail.message_id, "reason": match.reason,
                                            "original": original, "source": source}).scalar_one()
    attachments.record(scoped, created.id, first, files)
    return {"ticketId": created.id, "created": True, "stored": True}


def _sender(mail: ParsedMail) -> str:
    if not mail.from_email:
        raise InvalidRequest("The mail has no From address: there is no one to answer", field="From",
                             code="invalid_email")
    return normalize_email(mail.from_email, field="From")


def _title(subject: str) -> str:
    return (subject.strip() or "(no subject)")[:200]


def _content(mail: ParsedMail, *, reply: bool, limit: int) -> tuple[str, str]:
    """(message text, whole text). A reply that joins a ticket is trimmed of quotes and signature;
    a mail that opens one is kept whole (a forwarded mail is its own content)."""
    original = mail.text
    if mail.problem and not original:
        original = UNREADABLE.format(problem=mail.problem)
    text = (mail.reply if reply else original) or original or "(empty mail)"
    if mail.notes:
        text = text + "\n\n" + "\n".join(mail.notes)
    return _fit(text, limit), _fit(original or text, limit)


def _fit(text: str, limit: int) -> str:
    if utf8_size_over(text, limit) is None:
        return text
    return text.encode()[: limit - 100].decode(errors="ignore") + "\n[... cut: longer than the limit]"


def candidates(scoped: Scoped, mail: ParsedMail) -> Candidates:
    """The organization's tickets and messages the mail's references name, for ``match_thread``."""
    found = Candidates()
    tokens = tokens_of(mail)
    if tokens:
        rows = scoped.execute(_TICKETS_BY_ID, {"ids": [_uuid(t) for t in tokens]}).scalars()
        found.by_token = {reply_token(tid): tid for tid in rows}
    ids = list(dict.fromkeys([*mail.in_reply_to, *mail.references]))[-50:]
    if ids:
        pairs = scoped.execute(_MESSAGES_BY_EMAIL_ID, {"mids": ids}).all()
        found.by_message_id = {mid: tid for mid, tid in pairs}
    numbers = subject_numbers(mail.subject)
    if numbers:
        numbered = scoped.execute(_TICKETS_BY_NUMBER, {"numbers": numbers}).all()
        found.by_number = {n: (tid, email) for n, tid, email in numbered}
    return found


def _uuid(token: str) -> str:
    return f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:]}"


def _over_cap(scoped: Scoped, sender: str, now, cap: int) -> bool:
    """Has this sender opened ``cap`` email tickets in the last hour? (a loop or a flood)"""
    count = scoped.execute(_NEW_BY_SENDER, {"email": sender, "since": now - timedelta(hours=1)}).scalar_one()
    return count >= cap
