"""The outcome of one delivery attempt, and the retry schedule.

Retries use exponential backoff with jitter (spreads the retries of many messages to a receiver
that comes back from an outage) capped at an hour, for 24 hours after the message was
written; then the message is failed with its last error. A receiver's Retry-After wins over the
schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime

from telemetron.clock import utcnow

RETRY_FOR = timedelta(hours=24)
BASE_DELAY_SECONDS = 2.0
MAX_DELAY_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # delivered | retry | failed
    status_code: int | None
    error: str | None = None
    after: float | None = None  # seconds, when the receiver said when to come back

    @classmethod
    def delivered(cls, status: int) -> Outcome:
        return cls("delivered", status)

    @classmethod
    def retry(cls, status: int | None, error: str, after: float | None = None) -> Outcome:
        return cls("retry", status, error, after)

    @classmethod
    def failed(cls, status: int | None, error: str) -> Outcome:
        return cls("failed", status, error)


def backoff_seconds(attempts: int, *, base: float = BASE_DELAY_SECONDS) -> float:
    """Delay before the next attempt after ``attempts`` failed ones: jitter over [½, 1] × base × 2^(n-1)."""
    ceiling = min(MAX_DELAY_SECONDS, base * (2 ** min(max(0, attempts - 1), 30)))
    return random.uniform(ceiling / 2, ceiling)


def retry_after_seconds(headers: dict[str, str], *, default: float) -> float:
    """Retry-After as seconds or an HTTP date; ``default`` when absent or unreadable."""
    value = headers.get("retry-after")
    if not value:
        return default
    try:
        return max(0.0, min(MAX_DELAY_SECONDS, float(value)))
    except ValueError:
        pass
    try:
        return max(0.0, min(MAX_DELAY_SECONDS, (parsedate_to_datetime(value) - utcnow()).total_seconds()))
    except (TypeError, ValueError):
        return default
