"""A service of the product that runs on asyncio (the outbox worker, the IMAP poller) in a thread of
its own, with its own event loop and database connection, as its process would have them."""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from telemetron.config import Settings
from telemetron.db.engine import Database


class LoopThread:
    """Runs ``serve`` from ``start()`` (or ``with``) until ``stop()`` sets its stop event."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def serve(self, db: Database, stop_event: asyncio.Event) -> None:
        raise NotImplementedError

    async def _main(self) -> None:
        db = Database(self.settings.database_url, pool_size=2)
        self.loop, self.stop_event = asyncio.get_running_loop(), asyncio.Event()
        self.ready.set()
        try:
            await self.serve(db, self.stop_event)
        finally:
            db.dispose()

    def start(self) -> Self:
        self.thread.start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
