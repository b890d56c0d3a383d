"""The in-memory counts: a window opens at its first hit, counts until it resets, then is forgotten."""

from __future__ import annotations

import asyncio

from telemetron.ratelimit import counters
from telemetron.ratelimit.counters import ExactCounts
from tests.support.databases import REDIS_URL


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_a_window_counts_from_its_first_hit_and_starts_again_when_it_resets(monkeypatch):
    clock = Clock(1000.5)
    monkeypatch.setattr(counters.time, "time", clock.time)
    counts = ExactCounts()

    async def scenario():
        first = [await counts.hit("a", 60, 100) for _ in range(3)]
        other = await counts.hit("b", 60, 100)
        clock.now = 1060.4  # still in the window opened at 1000.5
        last = await counts.hit("a", 60, 100)
        clock.now = 1060.5  # reset
        reopened = await counts.hit("a", 60, 100)
        return first, other, last, reopened

    first, other, last, reopened = asyncio.run(scenario())
    assert first == [(1, 1060.5), (2, 1060.5), (3, 1060.5)]
    assert other == (1, 1060.5)  # each key its own bucket
    assert last == (4, 1060.5)
    assert reopened == (1, 1120.5)


def test_closed_windows_are_pruned(monkeypatch):
    clock = Clock(1000.0)
    monkeypatch.setattr(counters.time, "time", clock.time)
    counts = ExactCounts()

    async def scenario():
        for i in range(100):
            await counts.hit(f"once-{i}", 1, 100)
        await counts.hit("daily", 86400, 100)
        clock.now = 1002.0
        await counts.hit("daily", 86400, 100)

    asyncio.run(scenario())
    assert list(counts._windows) == ["daily"]
    assert counts._windows["daily"][0] == 2


def test_processes_whose_flushes_lag_serve_at_most_a_quarter_of_the_quota_unseen(monkeypatch, redis_prefix):
    """Two processes sharing Redis, neither flushing (a starved host): past a quarter of the quota each
    counts in Redis request by request, so together they serve the quota and at most a quarter more."""
    from telemetron.ratelimit.limiter import make_counts

    monkeypatch.setattr(counters, "FLUSH_SECONDS", 3600)
    first, second = (make_counts(REDIS_URL, redis_prefix) for _ in range(2))

    async def scenario() -> int:
        served = 0
        for i in range(40):  # alternately, as a load balancer would send them
            count, _ = await (first if i % 2 else second).hit("busy-key", 60, 20)
            served += count <= 20
        return served

    served = asyncio.run(scenario())
    assert 20 <= served <= 25, served
