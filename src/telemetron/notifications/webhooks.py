"""Outgoing webhooks: JSON ticket events signed with HMAC-SHA256.

Headers on every delivery:
  X-Telemetron-Event      the event, e.g. ticket.created
  X-Telemetron-Delivery   the delivery id: the same on every retry of one event, so receivers
                          can drop duplicates (delivery is at least once)
  X-Telemetron-Signature  t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
                          (a second v1, made with the previous secret, while a rotation overlaps)
A receiver recomputes the HMAC over the timestamp and the raw body with its endpoint's secret,
compares in constant time, and rejects old timestamps (5 minutes) to stop replays. See
``verify`` (and the README) for the reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from telemetron.outbox.delivery import Outcome, retry_after_seconds

SIGNATURE_HEADER = "X-Telemetron-Signature"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int | None = None, *, previous: str | None = None) -> str:
    """``t=...,v1=<mac>``; during a rotation's overlap also ``,v1=<mac with the previous secret>``,
    last, so that a receiver still reading one ``v1`` (the last) with the old secret keeps working."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    header = f"t={timestamp},v1={_mac(secret, body, timestamp)}"
    return header if previous is None else f"{header},v1={_mac(previous, body, timestamp)}"


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str, *, now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: True when one of the header's ``v1`` signatures signs ``body`` with
    ``secret`` and the timestamp is recent (two ``v1`` during a rotation's overlap)."""
    try:
        items = [item.split("=", 1) for item in header.split(",")]
        timestamp = int(dict(items)["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _mac(secret, body, timestamp)
    return any(hmac.compare_digest(expected, value) for key, value in items if key == "v1")


def classify(status: int, body: str, headers: dict[str, str]) -> Outcome:
    """2xx delivered; 404 and 410 are permanent (no such endpoint: retrying for 24 hours would not
    make one); 429 waits for Retry-After; anything else (5xx, other 4xx) is retried."""
    if 200 <= status < 300:
        return Outcome.delivered(status)
    if status in (404, 410):
        return Outcome.failed(status, f"the endpoint answered {status} {body[:100]}".strip())
    if status == 429:
        return Outcome.retry(status, "rate limited", after=retry_after_seconds(headers, default=60))
    return Outcome.retry(status, f"the endpoint answered {status} {body[:100]}".strip())
