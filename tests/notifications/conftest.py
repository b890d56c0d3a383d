"""Fixtures for delivery tests: receivers on free ports, and workers in threads or processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from telemetron.config import Settings
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.notifications.settings import add_endpoint, set_settings
from telemetron.outbox.worker import worker_from_settings
from tests.support.receiver import Receiver
from tests.support.servers import free_port

FAST = {"outbox_retry_base_seconds": 0.2, "outbox_poll_seconds": 0.05}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


class ThreadWorker:
    """A real OutboxWorker on its own event loop and database connection, in a thread."""

    def __init__(self, database_url: str, name: str, **overrides) -> None:
        self.settings = Settings(database_url=database_url, **{**FAST, **overrides})
        self.name = name
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        db = Database(self.settings.database_url, pool_size=2)
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        self.ready.set()
        try:
            await worker_from_settings(db, self.settings, name=self.name).run(self.stop_event)
        finally:
            db.dispose()

    def start(self) -> ThreadWorker:
        self.thread.start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)


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


def use_slack(db: Database, org_id: str, url: str, public_url: str | None = "https://help.example.com") -> None:
    db.run_sync(lambda conn: set_settings(Scoped(db, conn, org_id), slack_webhook_url=url, public_url=public_url))


def use_webhook(db: Database, org_id: str, url: str) -> dict:
    return db.run_sync(lambda conn: add_endpoint(Scoped(db, conn, org_id), url=url))
