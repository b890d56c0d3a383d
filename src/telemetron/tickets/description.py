"""Writing a ticket's description from its conversation, when the client sent none.

An agent opening the ticket wants the customer's own words first (that is the problem), then the
whole exchange for context. The result is bounded so that a 1,000-message transcript does not
become a 64 MB description; the messages themselves are kept in full on the ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

MAX_DESCRIPTION_CHARS = 4000
_ELLIPSIS = "…"
_ROLE_LABELS = {"customer": "Customer", "agent": "Agent", "bot": "Bot"}


class Message(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + _ELLIPSIS


def describe_conversation(messages: Sequence[Message], *, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    """A readable description: what the customer said, then the conversation, at most ``limit`` chars."""
    customer_words = [m.content for m in messages if m.role == "customer"]
    parts: list[str] = []
    if customer_words:
        parts.append(_clip(" ".join(customer_words), limit // 2))
    transcript = "\n".join(f"{_ROLE_LABELS[m.role]}: {_clip(m.content, 500)}" for m in messages)
    if transcript:
        parts.append("Conversation:\n" + transcript)
    text = "\n\n".join(parts)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + _ELLIPSIS
    return text


def first_customer_message(messages: Sequence[Message]) -> str | None:
    return next((m.content for m in messages if m.role == "customer"), None)
