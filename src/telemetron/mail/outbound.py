"""An agent's public reply leaves by the ticket's channel, through the outbox.

In the reply's own transaction (``deliver_agent_reply``): a ``ticket.agent_replied`` event for the
organization's webhooks (any ticket: the app that opened it delivers it in its own channel), and
for an email ticket an outbox delivery of channel ``email``, with the mail's Message-ID fixed now
and stored on the message (threading, bounces, and a retry sends the same mail). The delivery
worker sends it by SMTP (``SmtpSend``), retrying with backoff; the message's delivery state
(pending, sent, failed and why) follows the outbox row (``settle``).
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import unquote, urlsplit

from sqlalchemy import bindparam, select

from telemetron.db.scoped import Scoped, tenant_select, tenant_update
from telemetron.db.tables import mailboxes, members, organizations, ticket_messages
from telemetron.mail import thread_match
from telemetron.outbox.delivery import Outcome
from telemetron.outbox.repository import enqueue

logger = logging.getLogger("telemetron.mail")
EMAIL = "email"  # the outbox channel
_m = ticket_messages.c
_SET_MAIL = (tenant_update(ticket_messages).where(_m.id == bindparam("msg"))
             .values(email_message_id=bindparam("mid"), delivery_state="pending"))
_THREAD = (tenant_select(ticket_messages, _m.role, _m.email_message_id)
           .where(_m.ticket_id == bindparam("ticket_id"), _m.email_message_id.is_not(None))
           .order_by(_m.position))


def deliver_agent_reply(scoped: Scoped, ticket_id: str, message_id: int, content: str, *,
                        author_member_id: str | None, now: datetime) -> None:
    from telemetron.notifications import events
    from telemetron.tickets.serializers import find_ticket_row, summary_json

    row = find_ticket_row(scoped, ticket_id)
    assert row is not None  # locked by the caller
    author = None
    if author_member_id is not None:
        name = scoped.execute(tenant_select(members, members.c.name).where(members.c.id == bindparam("mem")),
                              {"mem": author_member_id}).scalar()
        author = {"id": author_member_id, "name": name}
    events.publish(scoped, events.AGENT_REPLIED, summary_json(row),
                   detail={"content": content, "messageId": message_id, "author": author}, to_slack=False, now=now)
    if row.mailbox_id is not None:
        _enqueue_mail(scoped, row, message_id, content, author, now)


def thread_subject(title: str, number: int | None) -> str:
    subject = title if title.lower().startswith("re:") else f"Re: {title}"
    tag = f"[#{number}]"
    return subject if number is None or tag in subject else f"{subject} {tag}"


def _enqueue_mail(scoped: Scoped, ticket, message_id: int, content: str, author: dict | None, now: datetime) -> None:
    mailbox = scoped.execute(tenant_select(mailboxes, mailboxes.c.address).where(mailboxes.c.id == bindparam("mbx")),
                             {"mbx": ticket.mailbox_id}).scalar()
    if mailbox is None:
        return
    thread = scoped.execute(_THREAD, {"ticket_id": ticket.id}).all()
    last_customer = next((mid for role, mid in reversed(thread) if role == "customer"), None)
    references = [mid for _role, mid in thread][-20:]
    domain = mailbox.partition("@")[2]
    our_id = thread_match.outgoing_message_id(ticket.id, domain)
    scoped.execute(_SET_MAIL, {"msg": message_id, "mid": our_id})
    from_name = author["name"] if author and author.get("name") else _org_name(scoped)
    enqueue(scoped, channel=EMAIL, event="ticket.agent_replied", ticket_id=ticket.id, target=ticket.mailbox_id, now=now,
            payload={"messageId": message_id, "emailMessageId": our_id, "from": mailbox, "fromName": from_name,
                     "replyTo": thread_match.reply_to_address(mailbox, ticket.id),
                     "to": ticket.customer_email, "toName": ticket.customer_name,
                     "subject": thread_subject(ticket.title, ticket.number), "inReplyTo": last_customer,
                     "references": references, "text": content, "date": format_datetime(now)})


def _org_name(scoped: Scoped) -> str:
    return scoped.conn.execute(select(organizations.c.name).where(organizations.c.id == scoped.org_id)).scalar() or ""


def compose(payload: dict) -> EmailMessage:
    """The mail: text and HTML parts (the HTML is the text, escaped), threaded to the customer's last mail."""
    msg = EmailMessage()
    msg["From"] = formataddr((payload["fromName"], payload["from"]))
    msg["To"] = formataddr((payload.get("toName") or "", payload["to"]))
    msg["Reply-To"] = payload["replyTo"]
    msg["Subject"] = payload["subject"]
    msg["Date"] = payload["date"]
    msg["Message-ID"] = f"<{payload['emailMessageId']}>"
    if payload.get("inReplyTo"):
        msg["In-Reply-To"] = f"<{payload['inReplyTo']}>"
    if payload.get("references"):
        msg["References"] = " ".join(f"<{r}>" for r in payload["references"])
    text = payload["text"]
    msg.set_content(text)
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    msg.add_alternative(f"<!doctype html><html><body>{paragraphs}</body></html>", subtype="html")
    return msg


def smtp_options(url: str) -> dict:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    default_port = {"smtps": 465, "smtp+starttls": 587}.get(scheme, 25)
    options = {"hostname": parts.hostname, "port": parts.port or default_port,
               "use_tls": scheme == "smtps", "start_tls": True if scheme == "smtp+starttls" else False}
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return options


class SmtpSend:
    """One delivery of an ``email`` outbox message: ``await SmtpSend(...)()`` gives its Outcome."""

    def __init__(self, smtp_url: str, payload: dict, timeout: float) -> None:
        self.smtp_url, self.payload, self.timeout = smtp_url, payload, timeout

    async def __call__(self) -> Outcome:
        import aiosmtplib

        try:
            message = compose(self.payload)
            await aiosmtplib.send(message, timeout=self.timeout, **smtp_options(self.smtp_url))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            code = first.code if first else 550
            return _by_code(code, f"the SMTP server refused the recipient: {code} {first.message[:150] if first else ''}")
        except aiosmtplib.SMTPResponseException as exc:
            # The server's own words, never the URL (it holds the password).
            return _by_code(exc.code, f"the SMTP server answered {exc.code} {exc.message[:150]}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome.retry(None, f"cannot reach the SMTP server ({type(exc).__name__})")
        return Outcome.delivered(250)


def _by_code(code: int, error: str) -> Outcome:
    """5xx is permanent (retrying would not change the answer); anything else is retried."""
    return Outcome.failed(code, error) if 500 <= code < 600 else Outcome.retry(code, error)


def destination(scoped: Scoped, message, timeout: float):
    """The SmtpSend of an outbox ``email`` message, or the Outcome that ends it (no mailbox, no key)."""
    from telemetron.mail import secrets_box
    from telemetron.mail.mailboxes import connection_url

    row = scoped.execute(tenant_select(mailboxes).where(mailboxes.c.id == bindparam("mbx")),
                         {"mbx": message.target}).mappings().first()
    if row is None:
        return Outcome.failed(None, "the mailbox no longer exists")
    try:
        url = connection_url(dict(row), "smtp_url")
    except (secrets_box.SecretKeyMissing, secrets_box.SecretUnreadable) as exc:
        return Outcome.failed(None, exc.message)
    if not url:
        return Outcome.failed(None, "the mailbox has no SMTP URL")
    return SmtpSend(url, message.payload, timeout)


_SETTLE = (tenant_update(ticket_messages).where(_m.id == bindparam("msg"))
           .values(delivery_state=bindparam("state"), delivery_error=bindparam("error")))


def settle(conn, batch: list[tuple], states: list[str], db=None) -> None:
    """The ticket message of each ``email`` delivery follows it: sent, failed (why), or pending
    with the last error while it is retried."""
    for (message, outcome, *_), state in zip(batch, states):
        if message.channel != EMAIL:
            continue
        shown = {"delivered": "sent", "failed": "failed"}.get(state, "pending")
        conn.execute(_SETTLE, {"msg": message.payload.get("messageId"), "state": shown,
                               "error": None if shown == "sent" else outcome.error,
                               "org_id": message.organization_id})


def mark_bounced(scoped: Scoped, email_message_id: str, reason: str | None) -> bool:
    """A bounce for one of our mails: its message is failed, with the bounce's reason."""
    done = scoped.execute(
        tenant_update(ticket_messages).where(_m.email_message_id == bindparam("mid"))
        .values(delivery_state="failed", delivery_error=f"bounced: {reason or 'no reason given'}"),
        {"mid": email_message_id})
    return done.rowcount > 0
