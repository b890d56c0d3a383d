"""A rate-limit policy: the ``limits`` library's notation (``100/second;3000/minute``), parsed once,
with the ``RateLimit-Policy`` header it is announced by (IETF draft-ietf-httpapi-ratelimit-headers-10)."""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse_many

from telemetron.errors import InvalidRequest

OFF = "off"


@dataclass(frozen=True, slots=True)
class Policy:
    text: str  # as configured, normalised: what `telemetron org rate-limit` shows
    items: tuple[RateLimitItem, ...]
    names: tuple[str, ...]  # each item's quota policy name in the headers
    header: bytes  # RateLimit-Policy: "per-second";q=100;w=1, "per-minute";q=3000;w=60
    # Each item's storage key around a bucket, as item.key_for(bucket) spells it (the same Redis keys)
    # without its per-call formatting, which was the largest part of the limiter's cost per request.
    key_parts: tuple[tuple[str, str], ...]

    def keys_for(self, bucket: str) -> list[str]:
        return [head + bucket + tail for head, tail in self.key_parts]


def _name(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return f"per-{unit}" if item.multiples == 1 else f"per-{item.multiples}-{unit}s"


def parse_policy(text: str) -> Policy | None:
    """The policy ``text`` describes, or None for ``off``; a clear error for anything else."""
    text = text.strip()
    if text.lower() == OFF:
        return None
    try:
        items = tuple(parse_many(text))
    except ValueError:
        raise InvalidRequest(
            f"Invalid rate limit {text!r}: write it as '100/second;3000/minute' (amount/[n ]second|minute|hour|day, "
            "several separated by ';'), or 'off'", code="invalid_rate_limit") from None
    if any(item.amount < 1 for item in items):
        raise InvalidRequest(f"Invalid rate limit {text!r}: an amount must be at least 1 (or use 'off')",
                             code="invalid_rate_limit")
    names = tuple(_name(item) for item in items)
    if len(set(names)) != len(names):
        raise InvalidRequest(f"Invalid rate limit {text!r}: give each window once", code="invalid_rate_limit")
    header = ", ".join(f'"{name}";q={item.amount};w={item.get_expiry()}' for name, item in zip(names, items))
    return Policy(";".join(f"{i.amount}/{i.multiples} {i.GRANULARITY.name}" if i.multiples != 1
                           else f"{i.amount}/{i.GRANULARITY.name}" for i in items),
                  items, names, header.encode(),
                  tuple((f"{i.namespace}/", f"/{i.amount}/{i.multiples}/{i.GRANULARITY.name}") for i in items))
