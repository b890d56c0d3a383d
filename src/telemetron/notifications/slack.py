"""Slack messages (Block Kit with a plain-text fallback) and how to read Slack's answers.

Incoming webhooks answer 200 "ok" on success. Their errors are documented by Slack: 400
(invalid_payload, no_service_id...), 403 (invalid_token, action_prohibited...), 404
(channel_not_found, no_service, no_team), 410 (channel_is_archived, team_disabled): none of these
gets better by retrying, so they are permanent. 429 comes with Retry-After. 5xx and network
errors are retried.
"""

from __future__ import annotations

import re
from typing import Any

from telemetron.errors import InvalidRequest
from telemetron.outbox.delivery import Outcome, retry_after_seconds

FIRST_MESSAGE_CHARS = 500
PERMANENT_STATUSES = {400, 403, 404, 410}
# Slack's channel names: up to 80 letters, digits, '-', '_' and '.' (as Slack allows), with or
# without '#'; a channel id (C0123ABCD) passes the same way; '@someone' for a direct message.
_CHANNEL = re.compile(r"[#@]?[\w.-]{1,80}")

_TITLES = {
    "ticket.created": "New ticket",
    "ticket.customer_replied": "Customer replied",
    "ticket.status_changed": "Ticket status changed",
}


def check_channel(channel: object, *, field: str) -> str:
    """The channel, stripped; a 400 naming ``field`` when Slack could not have such a channel."""
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel.strip()):
        raise InvalidRequest(
            f"{field} takes a Slack channel such as #support (letters, digits, '-' and '_', no spaces), "
            "a channel id or @someone", field=field, code="invalid_channel")
    return channel.strip()


def trial_message(organization_name: str, *, channel: str | None) -> dict[str, Any]:
    """What "Send a test" posts: says where it came from and that nothing needs doing."""
    text = (f"Test from Telemetron: Slack notifications for {escape(organization_name)} arrive in this channel. "
            "Nothing to do.")
    message: dict[str, Any] = {"text": text}
    if channel:
        message["channel"] = channel
    return message


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def trim(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quoted(text: str, limit: int = FIRST_MESSAGE_CHARS, max_lines: int = 8) -> str:
    """What a customer wrote, as a Slack quote: its lines kept (each quoted, blank ones dropped, at
    most ``max_lines``), spaces within a line collapsed, trimmed to ``limit`` characters, escaped."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    body = "\n".join(lines[:max_lines])
    if len(body) > limit:
        body = body[: limit - 1].rstrip() + "…"
    elif len(lines) > max_lines:
        body += " …"
    return "\n".join("> " + escape(line) for line in body.split("\n"))


def build_message(event: str, ticket: dict[str, Any], *, link: str | None, channel: str | None = None,
                  extra: str | None = None, reopened: bool = False) -> dict[str, Any]:
    """The message for ``event`` about ``ticket`` (a webhook-style ticket summary). ``reopened``: a
    customer's reply reopened a resolved ticket (one message says both: the reply and the reopening)."""
    heading = _TITLES.get(event, event) + (" and reopened the ticket" if reopened else "")
    customer = ticket.get("customer") or {}
    assignee = ticket.get("assignee") or {}
    who = customer.get("email", "unknown customer")
    fields = [
        ("Priority", ticket.get("priority") or "-"),
        ("Category", ticket.get("category") or "Uncategorized"),
        ("Customer", who),
        ("Assignee", assignee.get("name") or assignee.get("email") or "Unassigned"),
    ]
    # A new ticket shows the customer's first message, or the description when there is none (a
    # ticket opened by a form or a script has only that).
    quote = (ticket.get("firstCustomerMessage") or ticket.get("description")) if event == "ticket.created" else extra
    # The fallback is what notifications and clients without Block Kit show. Slack reads it as
    # mrkdwn too, so what customers wrote is escaped there as in the blocks: a title or a reply
    # holding "<!channel>" must not ping a whole channel.
    fallback = escape(f"{heading} [{ticket.get('priority', '')}]: {ticket.get('title', '')} ({who})")
    if event == "ticket.created":
        fallback += "\n" + escape(" · ".join(f"{k}: {v}" for k, v in fields if k in ("Category", "Assignee")))
    if quote:
        fallback += "\n" + quoted(quote)
    if link:
        fallback += f"\n<{link}|Open ticket {ticket.get('id', '')[:8]}>"
    if event == "ticket.status_changed":
        fields.append(("Status", ticket.get("status") or "-"))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": trim(f"{heading}: {ticket.get('title', '')}", 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}:*\n{escape(str(v))}"} for k, v in fields]},
    ]
    if quote:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": quoted(quote)}})
    if link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open ticket {ticket.get('id', '')[:8]}>"}]})
    message: dict[str, Any] = {"text": fallback, "blocks": blocks}
    if channel:
        # Honoured by legacy incoming webhooks; app webhooks post to their own channel.
        message["channel"] = channel
    return message


def classify(status: int, body: str, headers: dict[str, str]) -> Outcome:
    if 200 <= status < 300:
        return Outcome.delivered(status)
    if status == 429:
        return Outcome.retry(status, f"rate limited: {body[:100]}", after=retry_after_seconds(headers, default=30))
    if status in PERMANENT_STATUSES:
        return Outcome.failed(status, f"Slack answered {status} {body[:100]}".strip())
    return Outcome.retry(status, f"Slack answered {status} {body[:100]}".strip())
