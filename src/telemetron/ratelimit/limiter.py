"""Counting requests per API key against a policy, in the ``limits`` library's fixed windows.

A request counts once in each window of its policy (``counters.py``: in memory, or in Redis shared
by every process); the window with the least quota left, or the exceeded one that resets last,
gives the ``RateLimit`` header. If counting fails the request is served unlimited (and logged).
"""

from __future__ import annotations

import logging
import math
import time
from typing import NamedTuple

from limits.aio.storage import Storage
from limits.storage import storage_from_string

from telemetron.db.engine import Database
from telemetron.orgs.apikeys import hash_key, recent_organization
from telemetron.ratelimit.counters import ExactCounts, SharedCounts
from telemetron.ratelimit.overrides import Overrides
from telemetron.ratelimit.policy import Policy, parse_policy

logger = logging.getLogger("telemetron.ratelimit")
STORAGE_ERROR_LOG_SECONDS = 60.0


class Verdict(NamedTuple):
    allowed: bool
    headers: list[tuple[bytes, bytes]]  # RateLimit-Policy and RateLimit (and Retry-After when refused)
    message: str = ""


def make_counts(redis_url: str | None, key_prefix: str) -> ExactCounts | SharedCounts:
    if not redis_url:
        return ExactCounts()
    storage = storage_from_string(f"async+{redis_url}", implementation="redispy", key_prefix=key_prefix)
    assert isinstance(storage, Storage)  # an async+ scheme gives the asyncio storage
    return SharedCounts(storage)


class KeyLimiter:
    """One per app. ``check`` counts a request made with ``api_key`` and says whether to serve it.

    The bucket is the key's SHA-256: a key belongs to one organization, so one organization's
    traffic never counts against another's. An unknown key is counted like a valid one under
    the server's policy, so a 429 tells nothing about whether a key exists that a 401 would not.
    """

    def __init__(self, counts: ExactCounts | SharedCounts, default: Policy, overrides: Overrides) -> None:
        self._counts = counts
        self._default = default
        self._overrides = overrides
        self._storage_failed_at = -math.inf

    @classmethod
    def from_settings(cls, settings, db: Database) -> KeyLimiter | None:
        default = parse_policy(settings.rate_limit)
        if default is None:  # "off": no limiter at all, organizations' own limits included
            return None
        return cls(make_counts(settings.redis_url, f"{settings.redis_key_prefix}:ratelimit"), default, Overrides(db))

    async def check(self, api_key: str) -> Verdict | None:
        """None when no limit applies (an organization set to "off", or the storage failing)."""
        policy = self._overrides.policy(recent_organization(api_key), self._default)
        if policy is None:
            return None
        try:
            keys = policy.keys_for(hash_key(api_key))
            if isinstance(self._counts, ExactCounts):  # in memory: no coroutine per window
                hits = [self._counts.hit_now(key, item.get_expiry(), item.amount) for key, item in zip(keys, policy.items)]
            else:
                hits = [await self._counts.hit(key, item.get_expiry(), item.amount)
                        for key, item in zip(keys, policy.items)]
            return _verdict(policy, hits)
        except Exception:  # whatever broke, the request is served: a limiter must not take the API down
            if self._should_log_failure():
                logger.warning("rate limiting failed: serving requests without limits", exc_info=True)
            return None

    def _should_log_failure(self) -> bool:
        """Once a minute, not once per request."""
        now = time.monotonic()
        if now - self._storage_failed_at < STORAGE_ERROR_LOG_SECONDS:
            return False
        self._storage_failed_at = now
        return True


def _verdict(policy: Policy, hits: list[tuple[int, float]]) -> Verdict:
    """What the request's hits in each of the policy's windows decide, and the headers that say it."""
    items = policy.items
    counts = [count for count, _ in hits]
    over = [i for i, item in enumerate(items) if counts[i] > item.amount]
    if over:  # the exceeded window that resets last decides when to come back
        index = max(over, key=lambda i: hits[i][1])
    else:  # the window with the least quota left is the one a client must watch
        index = min(range(len(items)), key=lambda i: items[i].amount - counts[i])
    reset = hits[index][1]
    seconds = max(0, math.ceil(reset - time.time()))
    remaining = max(0, items[index].amount - counts[index])
    headers = [(b"ratelimit-policy", policy.header),
               (b"ratelimit", f'"{policy.names[index]}";r={remaining};t={seconds}'.encode())]
    if not over:
        return Verdict(True, headers)
    item = items[index]
    retry = max(1, seconds)
    headers.append((b"retry-after", str(retry).encode()))
    window = item.GRANULARITY.name if item.multiples == 1 else f"{item.multiples} {item.GRANULARITY.name}s"
    return Verdict(False, headers, f"Rate limit exceeded: this API key may make {item.amount} requests per "
                                   f"{window}; retry in {retry} s")
