"""A raw RFC 822 mail as the facts the channel needs: who, what, which thread, which files.

The standard library's ``email`` package (``policy.default``) reads the MIME: every charset it
knows, RFC 2047 headers. The text is the plain part, or the HTML part turned into text by
inscriptis (HTML is never kept to be rendered); the quoted conversation and the signature are
trimmed by mail-parser-reply, keeping the whole text too. Nothing here raises on a strange mail:
what cannot be read becomes a ``problem`` and the mail is still kept (``inbound``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from telemetron.mail.attachments import Part, safe_name

logger = logging.getLogger("telemetron.mail")


class _Registry(HeaderRegistry):
    """The standard registry makes a new header class each time a header is read (~0.2 ms, ten
    times per mail); the classes depend only on the header's name, so they are made once."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str):
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = policy.default.clone(header_factory=_Registry())
_MSGID = re.compile(r"<([^<>\s]+)>")
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl"]


@dataclass(slots=True)
class ParsedMail:
    message_id: str
    subject: str = ""
    from_email: str | None = None
    from_name: str = ""
    recipients: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, for the noise checks
    text: str = ""  # the whole text
    reply: str = ""  # quotes and signature trimmed
    parts: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. an attachment too large to keep
    content_type: str = "text/plain"
    bounce_of: str | None = None  # the Message-ID a delivery report is about
    bounce_reason: str | None = None
    problem: str | None = None  # why the mail could not be read (it is kept anyway)


def message_ids(value: str | None) -> list[str]:
    """The ids in a Message-ID / In-Reply-To / References header, without angle brackets."""
    if not value:
        return []
    found = _MSGID.findall(str(value))
    return found or ([str(value).strip()] if str(value).strip() and " " not in str(value).strip() else [])


def parse(raw: bytes, *, max_attachment: int) -> ParsedMail:
    fallback_id = "sha256-" + hashlib.sha256(raw).hexdigest()[:40] + "@telemetron.invalid"
    try:
        msg = BytesParser(policy=POLICY).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is a last resort
        return ParsedMail(message_id=fallback_id, problem=f"unreadable MIME ({type(exc).__name__})")
    mail = ParsedMail(message_id=fallback_id)
    try:
        _read_headers(msg, mail)
    except Exception as exc:
        logger.info("mail %s: unreadable headers (%s)", mail.message_id, type(exc).__name__)
        mail.problem = f"unreadable headers ({type(exc).__name__})"
    try:
        _read_body(msg, mail, max_attachment)
    except Exception as exc:
        logger.info("mail %s: unreadable body (%s)", mail.message_id, type(exc).__name__)
        mail.problem = mail.problem or f"unreadable body ({type(exc).__name__})"
    return mail


def _header(msg, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header: its raw text
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return str(value).strip() if value is not None else ""


def _read_headers(msg: EmailMessage, mail: ParsedMail) -> None:
    # Raw values where no decoding is needed: policy.default parses every header it is asked for
    # (about 1 ms each), which was most of a plain mail's parsing.
    raw: dict[str, str] = {}
    for name, value in msg.raw_items():
        raw.setdefault(name.lower(), str(value))
    ids = message_ids(raw.get("message-id"))
    if ids:
        mail.message_id = ids[0][:900]
    mail.subject = " ".join(_header(msg, "Subject").split()) if "subject" in raw else ""
    name, address = parseaddr(_header(msg, "From") if "from" in raw else "")
    mail.from_name, mail.from_email = name.strip(), (address.strip().lower() or None)
    mail.recipients = [a.lower() for _n, a in getaddresses(
        [raw[h] for h in ("to", "cc", "delivered-to", "x-original-to") if h in raw]) if a]
    mail.in_reply_to = message_ids(raw.get("in-reply-to"))
    mail.references = message_ids(raw.get("references"))
    for name in ("auto-submitted", "x-autoreply", "x-autorespond", "precedence", "return-path",
                 "x-auto-response-suppress", "list-id"):
        if name in raw:
            mail.headers[name] = " ".join(raw[name].split())
    mail.content_type = msg.get_content_type()


def _read_body(msg: EmailMessage, mail: ParsedMail, max_attachment: int) -> None:
    if not msg.is_multipart():  # the common case: one text part, no attachment to look for
        if mail.content_type in ("text/plain", "text/html") and msg.get_content_disposition() != "attachment":
            text = _text_of(msg)
            mail.text = (html_to_text(text) if mail.content_type == "text/html" else text).replace("\r\n", "\n").strip()
            mail.reply = trim_reply(mail.text)
            return
    if mail.content_type == "multipart/report":
        _read_report(msg, mail)
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        text = _text_of(body)
        if body.get_content_type() == "text/html":
            text = html_to_text(text)
    mail.text = text.replace("\r\n", "\n").strip()
    mail.reply = trim_reply(mail.text)
    alternatives = {id(p) for p in _alternatives(msg, body)}
    for part in _leaves(msg):
        if id(part) in alternatives:
            continue
        _collect(part, mail, max_attachment)


def _text_of(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: read it anyway
        data = part.get_payload(decode=True) or b""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def html_to_text(html: str) -> str:
    from inscriptis import get_text

    return get_text(html)


def trim_reply(text: str) -> str:
    """The new part of a reply: quoted earlier messages and the signature left out."""
    if not text:
        return text
    try:
        from mailparser_reply import EmailReplyParser

        replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text).replies
        trimmed = replies[0].body.strip() if replies else ""
    except Exception:  # the trimmer must never cost a mail
        logger.info("reply trimming failed; keeping the whole text")
        return text
    return trimmed or text


def _leaves(msg):
    """The non-multipart parts, without descending into attached mails (kept whole as .eml)."""
    if msg.is_multipart():
        for sub in msg.iter_parts():
            yield from _leaves(sub)
    else:
        yield msg


def _alternatives(msg, body) -> list:
    """The body part and its text alternatives (the HTML twin of the plain part): not attachments."""
    if body is None:
        return []
    found = [body]
    for part in msg.walk():
        if part.get_content_type() == "multipart/alternative":
            for sub in part.iter_parts():
                if sub.get_content_maintype() == "text" and sub.get_content_disposition() != "attachment":
                    found.append(sub)
    return found


def _collect(part, mail: ParsedMail, max_attachment: int) -> None:
    ctype = part.get_content_type()
    disposition = part.get_content_disposition()
    filename = part.get_filename()
    if ctype in ("message/delivery-status", "text/rfc822-headers"):
        return
    if ctype.startswith("text/") and disposition != "attachment" and not filename:
        return  # an extra text part of the body (signature, footer)
    inline = disposition == "inline" or (disposition is None and bool(part.get("Content-ID")))
    if ctype == "message/rfc822":
        data = part.get_payload(0).as_bytes() if part.is_multipart() else (part.get_payload(decode=True) or b"")
        filename = filename or "forwarded-message.eml"
    else:
        data = part.get_payload(decode=True) or b""
    if not filename:
        ext = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}.get(ctype, "bin")
        filename = f"{'inline' if inline else 'attachment'}-{len(mail.parts) + 1}.{ext}"
    if len(data) > max_attachment:
        mail.notes.append(f"[attachment {safe_name(filename)} ({len(data):,} bytes) not kept: over the {max_attachment:,}-byte limit]")
        return
    mail.parts.append(Part(filename, ctype, data, inline))


def _read_report(msg: EmailMessage, mail: ParsedMail) -> None:
    """A delivery status report (RFC 3464): which of our mails bounced, and why."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            text = "\n".join(str(block) for block in part.get_payload()) if part.is_multipart() else part.as_string()
            reason = re.search(r"^Diagnostic-Code:\s*(.+)$", text, re.MULTILINE | re.IGNORECASE) or re.search(
                r"^Status:\s*(.+)$", text, re.MULTILINE | re.IGNORECASE)
            if reason:
                mail.bounce_reason = " ".join(reason.group(1).split())[:300]
        elif ctype in ("message/rfc822", "text/rfc822-headers"):
            payload = None if part.is_multipart() else part.get_payload(decode=True)
            inner = part.get_payload(0) if part.is_multipart() else BytesParser(policy=POLICY).parsebytes(
                payload if isinstance(payload, bytes) else b"", headersonly=True)
            ids = message_ids(_header(inner, "Message-ID"))
            if ids:
                mail.bounce_of = ids[0]
