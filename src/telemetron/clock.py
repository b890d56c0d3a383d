"""The service's clock: aware UTC datetimes, for code that needs the time and nothing of the database."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
