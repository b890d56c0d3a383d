"""Where the windows are counted: ``hit(key, expiry, amount)`` returns the window's count and when it resets.

``ExactCounts`` counts in this process's memory: a dict of open windows, each opened by its first hit
as the ``limits`` library's MemoryStorage does, without that storage's per-key asyncio lock and
expiry task (most of the limiter's cost per request; a dict update needs no lock in one event loop).

``SharedCounts`` counts in Redis (its RedisStorage), but not with a round trip per request while a
key is well within its quota: a redis-py call costs a large part of a ticket's CPU. Each process
counts locally and adds its hits to Redis in one INCRBY per active window every ``FLUSH_SECONDS``,
reading back the total of every process; a request is judged on that total plus the hits not yet
sent. Past a quarter of its quota a key is counted in Redis at once, request by request, so that
processes whose flushes lag (a busy host) cannot together serve much more than the quota: each can
serve at most a quarter of it unseen by the others. A Redis outage leaves each process limiting on its own.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from limits.aio.storage import Storage

logger = logging.getLogger("telemetron.ratelimit")
FLUSH_SECONDS = 0.01
FAILURE_LOG_SECONDS = 60.0
PRUNE_SECONDS = 1.0
# Past 1/NEAR of its quota a window is counted in Redis request by request (see the docstring).
NEAR = 4


class ExactCounts:
    def __init__(self) -> None:
        self._windows: dict[str, list[float]] = {}  # key -> [hits, reset_at]
        self._next_prune = 0.0

    async def hit(self, key: str, expiry: int, amount: int) -> tuple[int, float]:
        return self.hit_now(key, expiry, amount)

    def hit_now(self, key: str, expiry: int, amount: int) -> tuple[int, float]:
        """``hit`` without a coroutine: the limiter's hot path when counting in memory."""
        now = time.time()
        if now >= self._next_prune:
            self._prune(now)
        window = self._windows.get(key)
        if window is None or now >= window[1]:
            window = self._windows[key] = [0, now + expiry]
        window[0] += 1
        return int(window[0]), window[1]

    def _prune(self, now: float) -> None:
        """Closed windows go, at most once a second, so that keys seen once do not pile up."""
        self._next_prune = now + PRUNE_SECONDS
        for key in [key for key, (_, reset_at) in self._windows.items() if now >= reset_at]:
            del self._windows[key]


@dataclass(slots=True)
class _Window:
    expiry: int
    reset_at: float
    known: int = 0  # every process's hits, as Redis last said (ours included)
    pending: int = 0  # ours, not yet sent
    sending: int = 0  # ours, on their way
    reset_known: bool = False  # reset_at read from Redis (the window may have been opened by another process)


class SharedCounts:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._windows: dict[str, _Window] = {}
        self._flusher: asyncio.Task | None = None
        self._failed_at = -math.inf

    async def hit(self, key: str, expiry: int, amount: int) -> tuple[int, float]:
        now = time.time()
        window = self._windows.get(key)
        if window is None or now >= window.reset_at:
            window = self._windows[key] = _Window(expiry, now + expiry)
        window.pending += 1
        counted = window.known + window.sending + window.pending
        if amount < NEAR * counted and counted <= amount:  # near the quota: every process's hits, now
            total = await self._send(key, window)
            if total is not None:  # Redis' own count, this request's hit the last of it
                return total, window.reset_at
        elif self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())
        return window.known + window.sending + window.pending, window.reset_at

    async def _flush_soon(self) -> None:
        try:
            await asyncio.sleep(FLUSH_SECONDS)
            now = time.time()
            for key, window in list(self._windows.items()):
                if window.pending:
                    await self._send(key, window)
                elif now >= window.reset_at:
                    del self._windows[key]
        finally:
            self._flusher = None

    async def _send(self, key: str, window: _Window) -> int | None:
        """Add the window's pending hits to Redis; Redis' total after them (None: Redis failed)."""
        # Several sends of one window may be under way at once (the flusher and requests near the
        # quota): each moves its own hits from pending to sending and back out.
        sent, window.pending = window.pending, 0
        if not sent:
            return None
        window.sending += sent
        try:
            total = await self._storage.incr(key, window.expiry, amount=sent)
            if total > sent and not window.reset_known:  # opened before (maybe by another process): its reset
                window.reset_at = await self._storage.get_expiry(key)
                window.reset_known = True
            window.known = max(window.known, total)
            return total
        except Exception:  # Redis down: keep counting here alone, try again with the next hits
            window.known += sent
            now = time.monotonic()
            if now - self._failed_at >= FAILURE_LOG_SECONDS:
                self._failed_at = now
                logger.warning("rate-limit storage failed: this process limits on its own", exc_info=True)
            return None
        finally:
            window.sending -= sent
