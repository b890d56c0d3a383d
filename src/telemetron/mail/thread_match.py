"""Which ticket a mail belongs to, and why: one pure function, like the routing rules.

In this order (Zammad's and FreeScout's): our own reply token (in the Message-ID we send, which
replies quote in In-Reply-To/References, and in the plus-address Reply-To they are sent to), then
In-Reply-To/References against every message of the organization, then a ``[#N]`` in the
subject, but only from the ticket's own customer (anyone can type a number in a subject).
Otherwise a new ticket. The caller looks up the candidates (``Candidates``); nothing here reads
the database.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from telemetron.mail.parse import ParsedMail

_TOKEN_IN_ID = re.compile(r"^tlm\.[0-9a-z]+\.([0-9a-f]{32})@", re.IGNORECASE)
_TOKEN_IN_ADDRESS = re.compile(r"\+tlm-([0-9a-f]{32})@", re.IGNORECASE)
_SUBJECT_NUMBER = re.compile(r"\[#(\d{1,9})\]")


def reply_token(ticket_id: str) -> str:
    return ticket_id.replace("-", "").lower()


def outgoing_message_id(ticket_id: str, domain: str) -> str:
    """The Message-ID of a mail we send about a ticket (without angle brackets)."""
    return f"tlm.{secrets.token_hex(6)}.{reply_token(ticket_id)}@{domain}"


def reply_to_address(mailbox_address: str, ticket_id: str) -> str:
    local, _, domain = mailbox_address.partition("@")
    return f"{local}+tlm-{reply_token(ticket_id)}@{domain}"


def tokens_of(mail: ParsedMail) -> list[str]:
    """Reply tokens the mail carries, most telling first (the mail it answers, then the address)."""
    found = [m.group(1).lower() for i in (*mail.in_reply_to, *reversed(mail.references))
             if (m := _TOKEN_IN_ID.match(i))]
    found += [m.group(1).lower() for a in mail.recipients if (m := _TOKEN_IN_ADDRESS.search(a))]
    return list(dict.fromkeys(found))


def subject_numbers(subject: str) -> list[int]:
    return [int(n) for n in _SUBJECT_NUMBER.findall(subject)]


@dataclass(slots=True)
class Candidates:
    """What the database knows about the references the mail carries."""

    by_token: dict[str, str] = field(default_factory=dict)  # token -> ticket id (this org's only)
    by_message_id: dict[str, str] = field(default_factory=dict)  # Message-ID -> ticket id
    by_number: dict[int, tuple[str, str]] = field(default_factory=dict)  # N -> (ticket id, customer email)


@dataclass(frozen=True, slots=True)
class Match:
    ticket_id: str | None
    reason: str


def match_thread(mail: ParsedMail, found: Candidates) -> Match:
    for token in tokens_of(mail):
        if token in found.by_token:
            return Match(found.by_token[token], "reply to our message (reply token)")
    for header, ids in (("In-Reply-To", mail.in_reply_to), ("References", list(reversed(mail.references)))):
        for message_id in ids:
            if message_id in found.by_message_id:
                return Match(found.by_message_id[message_id], f"{header} names message <{message_id}>")
    for number in subject_numbers(mail.subject):
        if number in found.by_number:
            ticket_id, customer_email = found.by_number[number]
            if customer_email == mail.from_email:
                return Match(ticket_id, f"subject names ticket [#{number}]")
    if mail.in_reply_to or mail.references:
        return Match(None, "new: its thread headers name no message of ours")
    return Match(None, "new: no thread headers")
