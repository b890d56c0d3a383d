"""Waiting for what another thread or process does (a worker, a poller): a check polled until it
holds or a deadline passes."""

from __future__ import annotations

import time


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")
