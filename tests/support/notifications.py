"""Notifications in tests: an organization's Slack and webhook destinations, a real outbox worker
in a thread, and what the outbox holds.

The fixtures that start receivers and workers (``receiver``, ``start_worker``, ``spawn_worker``)
are in tests/notifications/conftest.py.
"""

from __future__ import annotations

import asyncio

from telemetron.config import Settings
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.notifications.settings import add_endpoint, set_settings
from telemetron.outbox.worker import worker_from_settings
from tests.support.threads import LoopThread

# Retries and polls in tenths of a second, so that a test sees a retry without waiting for one.
FAST = {"outbox_retry_base_seconds": 0.2, "outbox_poll_seconds": 0.05}


class ThreadWorker(LoopThread):
    """A real OutboxWorker on its own event loop and database connection, in a thread."""

    def __init__(self, database_url: str, name: str, **overrides) -> None:
        super().__init__(Settings(database_url=database_url, **{**FAST, **overrides}))
        self.name = name

    async def serve(self, db: Database, stop_event: asyncio.Event) -> None:
        await worker_from_settings(db, self.settings, name=self.name).run(stop_event)


def use_slack(db: Database, org_id: str, url: str, public_url: str | None = "https://help.example.com") -> None:
    db.run_sync(lambda conn: set_settings(Scoped(db, conn, org_id), slack_webhook_url=url, public_url=public_url))


def use_webhook(db: Database, org_id: str, url: str) -> dict:
    return db.run_sync(lambda conn: add_endpoint(Scoped(db, conn, org_id), url=url))


def outbox_state(db, org_id):
    """(status, attempts, last error) of the organization's messages: its deliveries, and its events
    until a worker fans them out (see tests/notifications/test_fan_out.py)."""
    with db.engine.connect() as conn:
        return conn.exec_driver_sql(
            "select status, attempts, last_error from outbox "
            f"where organization_id = '{org_id}' and status != 'fanned_out' order by id"
        ).all()
