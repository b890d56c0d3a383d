"""The vocabularies the API, the web app and the CLI share: defined once, as ``StrEnum``s.

A member is its own string (``Status.OPEN == "open"``), so it is stored, compared and sent as JSON
as the plain value.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    RESOLVED = "resolved"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class MessageRole(StrEnum):
    """Who wrote a ticket's message."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"


class MemberRole(StrEnum):
    """What a member of the organization may do in the web app."""

    AGENT = "agent"
    ADMIN = "admin"


STATUSES: tuple[str, ...] = tuple(Status)
PRIORITIES: tuple[str, ...] = tuple(Priority)
MESSAGE_ROLES: tuple[str, ...] = tuple(MessageRole)
MEMBER_ROLES: tuple[str, ...] = tuple(MemberRole)
