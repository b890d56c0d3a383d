"""The delivery worker: claims due outbox messages, sends them, records what happened.

Runs inside ``telemetron serve`` by default (an asyncio task beside the API) and as
``telemetron worker`` processes for scale; any number of them can run against one PostgreSQL
(claims never overlap, see ``outbox.repository``). Sending happens only here, after the ticket's
transaction committed: never from inside a request.

The HTTP client is aiohttp: httpx (httpcore) rescans its whole connection pool on every request
event, which measured ~3 ms of CPU per delivery at 32 deliveries in flight (bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import timedelta

import aiohttp
import orjson

from telemetron.db.engine import Database, utcnow
from telemetron.db.scoped import Scoped
from telemetron.notifications import settings as notification_settings
from telemetron.notifications import events, slack, webhooks
from telemetron.outbox import repository
from telemetron.outbox.delivery import BASE_DELAY_SECONDS, Outcome

logger = logging.getLogger("telemetron.outbox")


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class OutboxWorker:
    def __init__(self, db: Database, *, name: str | None = None, concurrency: int = 32,
                 poll_interval: float = 0.2, timeout: float = 10.0, lease: timedelta = repository.DEFAULT_LEASE,
                 retry_base: float = BASE_DELAY_SECONDS) -> None:
        self.db = db
        self.name = name or default_worker_name()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.lease = lease
        self.retry_base = retry_base
        self.wakeup = asyncio.Event()
        # Outcomes waiting to be recorded: written in batches, one transaction per batch, so
        # that a busy worker spends one commit per many deliveries, not one each.
        self._outcomes: list[tuple] = []
        self._recorder: asyncio.Task | None = None

    async def run(self, stop: asyncio.Event) -> None:
        in_flight: set[asyncio.Task] = set()
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        failures = 0
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as client:
            while not stop.is_set():
                claimed = []
                free = self.concurrency - len(in_flight)
                if free > 0:
                    try:
                        claimed = await self.db.run(_claim_with_destinations, self.db, worker=self.name, limit=free,
                                                    lease=self.lease)
                        failures = 0
                    except Exception:
                        # The database is down or busy: say so once, then back off (up to 10 s).
                        failures += 1
                        if failures == 1:
                            logger.exception("claiming outbox messages failed; retrying with backoff")
                        await asyncio.sleep(min(10.0, self.poll_interval * 2**failures))
                for message, destination in claimed:
                    task = asyncio.create_task(self._deliver(client, message, destination))
                    in_flight.add(task)
                    task.add_done_callback(lambda t: (in_flight.discard(t), self.wakeup.set()))
                if not claimed:  # idle, or every slot busy: wait for a free slot, new work or the poll
                    self.wakeup.clear()
                    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wakeup.wait())]
                    await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
                    for waiter in waiters:
                        waiter.cancel()
            if in_flight:  # a graceful stop finishes what it started
                await asyncio.gather(*in_flight, return_exceptions=True)
            if self._recorder is not None:
                await self._recorder

    async def _deliver(self, client: aiohttp.ClientSession, message: repository.Claimed, destination) -> None:
        started_at, started = utcnow(), time.perf_counter()
        try:
            outcome = await self._send(client, destination)
        except TimeoutError:
            outcome = Outcome.retry(None, "timed out")
        except aiohttp.ClientError as exc:
            # The exception's text can hold the URL, which is a secret for Slack: name the kind only.
            outcome = Outcome.retry(None, f"network error ({type(exc).__name__})")
        except Exception:
            logger.exception("delivering outbox message %s failed unexpectedly", message.id)
            outcome = Outcome.retry(None, "internal error while delivering")
        duration_ms = (time.perf_counter() - started) * 1000
        self._outcomes.append((message, outcome, started_at, duration_ms))
        if self._recorder is None:
            self._recorder = asyncio.create_task(self._record_outcomes())
        await self._recorder  # the delivery counts as done once its outcome is stored

    async def _record_outcomes(self) -> None:
        try:
            while self._outcomes:
                await asyncio.sleep(0)  # let the deliveries finishing now join this batch
                batch, self._outcomes = self._outcomes, []
                try:
                    states = await self.db.run(_record_all, batch, worker=self.name, retry_base=self.retry_base)
                except Exception:
                    logger.exception("recording %d delivery outcomes failed; their leases will expire", len(batch))
                    continue
                for (message, outcome, *_), state in zip(batch, states):
                    if state == "failed":
                        logger.warning("outbox message %s (%s %s) failed: %s", message.id, message.channel,
                                       message.event, outcome.error)
        finally:
            self._recorder = None

    @staticmethod
    async def _send(client: aiohttp.ClientSession, destination) -> Outcome:
        if isinstance(destination, Outcome):
            return destination
        url, body, headers, classify = destination
        async with client.post(url, data=body, headers=headers, allow_redirects=False) as response:
            text = await response.text(errors="replace")
            return classify(response.status, text, {k.lower(): v for k, v in response.headers.items()})


def worker_from_settings(db: Database, settings, *, name: str | None = None) -> OutboxWorker:
    return OutboxWorker(
        db,
        name=name,
        concurrency=settings.outbox_concurrency,
        poll_interval=settings.outbox_poll_seconds,
        timeout=settings.outbox_delivery_timeout_seconds,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        retry_base=settings.outbox_retry_base_seconds,
    )


def _claim_with_destinations(conn, db: Database, *, worker: str, limit: int, lease: timedelta) -> list[tuple]:
    """Claim due messages and resolve where each goes, in one transaction."""
    claimed = repository.claim(conn, worker=worker, limit=limit, lease=lease)
    return [(message, _safe_destination(conn, db, message)) for message in claimed]


def _safe_destination(conn, db: Database, message: repository.Claimed):
    """One malformed message fails alone (recorded with its reason), never the whole claim."""
    try:
        return _destination(conn, db, message)
    except Exception as exc:
        logger.exception("outbox message %s cannot be prepared", message.id)
        return Outcome.failed(None, f"cannot prepare the message ({type(exc).__name__})")


def _record_all(conn, batch: list[tuple], *, worker: str, retry_base: float) -> list[str]:
    return [
        repository.record(conn, message, outcome, worker=worker, started_at=started_at, duration_ms=duration_ms,
                          retry_base=retry_base)
        for message, outcome, started_at, duration_ms in batch
    ]


def _destination(conn, db: Database, message: repository.Claimed):
    """Where and what to send, read when the message is claimed (a fixed URL applies to pending messages)."""
    scoped = Scoped(db, conn, message.organization_id)
    if message.channel == "slack":
        url, _public = notification_settings.get_settings(scoped)
        if not url:
            return Outcome.failed(None, "no Slack webhook URL is configured for this organization")
        body = orjson.dumps(events.slack_message(message.event, message.payload))
        return url, body, {"Content-Type": "application/json"}, slack.classify
    if message.channel == "webhook":
        try:
            endpoint = notification_settings.get_endpoint(scoped, message.target or "")
        except Exception:
            return Outcome.failed(None, "the webhook endpoint no longer exists")
        if not endpoint["enabled"]:
            return Outcome.failed(None, "the webhook endpoint is disabled")
        body = orjson.dumps(message.payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Telemetron-Webhooks/1",
            "X-Telemetron-Event": message.event,
            "X-Telemetron-Delivery": str(message.id),
            webhooks.SIGNATURE_HEADER: webhooks.sign(endpoint["secret"], body),
        }
        return endpoint["url"], body, headers, webhooks.classify
    return Outcome.failed(None, f"unknown channel {message.channel}")
