"""Fixtures for delivery tests: receivers on free ports, and workers in threads or processes
(the thread worker itself, and the destinations' setup: tests/support/notifications.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.notifications import ThreadWorker
from tests.support.receiver import Receiver
from tests.support.servers import free_port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


@pytest.fixture
def start_worker(database_url):
    workers: list[ThreadWorker] = []

    def start(name: str = "test-worker", **overrides) -> ThreadWorker:
        worker = ThreadWorker(database_url, name, **overrides).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def spawn_worker(database_url):
    """``telemetron worker`` as a real process (to kill it with SIGKILL, or to run several)."""
    processes: list[subprocess.Popen] = []

    def spawn(name: str, **env) -> subprocess.Popen:
        environment = {
            **os.environ,
            "TELEMETRON_DATABASE_URL": database_url,
            "TELEMETRON_OUTBOX_RETRY_BASE_SECONDS": "0.2",
            "TELEMETRON_OUTBOX_POLL_SECONDS": "0.05",
            "TELEMETRON_LOG_LEVEL": "warning",
            **{k.upper(): str(v) for k, v in env.items()},
        }
        process = subprocess.Popen([sys.executable, "-m", "telemetron", "worker", "--name", name], env=environment)
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
