"""The in-memory counts: a window opens at its first hit, counts until it resets, then is forgotten."""

from __future__ import annotations

import asyncio

from telemetron.ratelimit import counters
from telemetron.ratelimit.counters import ExactCounts


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
        first = [await counts.hit("a", 60) for _ in range(3)]
        other = await counts.hit("b", 60)
        clock.now = 1060.4  # still in the window opened at 1000.5
        last = await counts.hit("a", 60)
        clock.now = 1060.5  # reset
        reopened = await counts.hit("a", 60)
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
            await counts.hit(f"once-{i}", 1)
        await counts.hit("daily", 86400)
        clock.now = 1002.0
        await counts.hit("daily", 86400)

    asyncio.run(scenario())
    assert list(counts._windows) == ["daily"]
    assert counts._windows["daily"][0] == 2
