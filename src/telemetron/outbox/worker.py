"""The delivery worker: claims due outbox messages, fans ticket events out to their
destinations, sends the messages, records what happened.

Runs inside ``telemetron serve`` by default (an asyncio task beside the API) and as
``telemetron worker`` processes for scale; any number of them can run against one PostgreSQL
(claims never overlap, see ``outbox.repository``). Sending happens only here, after the ticket's
transaction committed: never from inside a request. Beside the API, it shares the event loop's
thread (and the GIL) with the requests, so it yields to them when they keep the process busy
(``LoopLoad``).

The database work is done per batch: one transaction claims and fans out, one records a batch
of outcomes (prebuilt statements, executemany); building SQLAlchemy statements per message cost
more CPU than sending the message. For the same reason, while deliveries are in flight the
worker claims again only once a quarter of its slots are free (or the poll interval has passed),
not each time one delivery ends (less CPU per delivery: bench/README.md). Slots held by
slow deliveries (a timing-out endpoint) count as free for that decision, so that one slow
endpoint does not slow the others down to a claim per poll.

The HTTP client is aiohttp: httpx (httpcore) rescans its whole connection pool on every request
event, which measured ~3 ms of CPU per delivery at 32 deliveries in flight (bench/README.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
import orjson

from telemetron.clock import utcnow
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.errors import NotFound
from telemetron.notifications import events, rotation, slack, webhooks
from telemetron.notifications import settings as notification_settings
from telemetron.outbox import repository
from telemetron.outbox.delivery import BASE_DELAY_SECONDS, Outcome

logger = logging.getLogger("telemetron.outbox")


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _run_queue_wait() -> float | None:
    """Seconds this thread has waited for a CPU while runnable (Linux's schedstat); None elsewhere."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


class LoopLoad:
    """How much of this process the API wants, measured per ``window`` from the event loop's thread.

    Demand is the process's CPU time (every thread: the loop, and the database threads of
    PostgreSQL's batches) plus the time the loop's thread waited for a CPU (Linux's schedstat: on
    a machine where other jobs compete for the cores, a saturated loop may run only half the
    time, but it wants all of it), over wall time. The worker's own part is taken out:
    ``deliveries`` (counted by the worker) times ``WORKER_COST``, a low estimate of what one
    delivery costs (0.65-1.1 ms measured, bench/README.md). What remains is the API's.

    The window is short (0.1 s) because the worker delivers at full speed until the first window
    that shows the burst: with 0.5 s, a 5 s burst of tickets began with ~300-340 deliveries in its
    first 0.75 s (~5% of the burst's CPU), with 0.1 s with 4 to 70 (bench/notification_burst.sh).
    """

    WORKER_COST = 0.0005

    def __init__(self, window: float = 0.1) -> None:
        self.window = window
        self.share = 0.0
        self.deliveries = 0
        self._at, self._cpu, self._waited = time.monotonic(), time.process_time(), _run_queue_wait()

    def update(self) -> float:
        now = time.monotonic()
        if now - self._at >= self.window:
            cpu, waited = time.process_time(), _run_queue_wait()
            used = cpu - self._cpu
            queued = waited - self._waited if waited is not None and self._waited is not None else 0.0
            mine = min(1.0, self.deliveries * self.WORKER_COST / used) if used > 0 else 0.0
            self.share = (used + queued) / (now - self._at) * (1.0 - mine)
            self._at, self._cpu, self._waited, self.deliveries = now, cpu, waited, 0
        return self.share


class OutboxWorker:
    """Claims due messages (fanning events out), sends them, records the outcomes.

    ``busy_share``: beside the API (``telemetron serve``), when the API wants more than this share
    of a core (``LoopLoad``), the worker yields to the requests: for ``busy_hold`` seconds it
    delivers nothing, then at most ``busy_rate`` messages a second, claimed once a second; the rest
    waits, safe in the outbox, until the load drops. ``None`` (``telemetron worker``) never holds
    back.

    Why hold at first: most bursts are short, and a held-back delivery still cost the API's process
    1.3 ms of CPU (about 2.6% of a core at 20 a second), for little: a burst's backlog drains at
    full speed once it ends. The trickle after ``busy_hold`` keeps notifications moving under a
    sustained overload.

    Why once a second: each claim and each record of outcomes is a transaction whatever the number
    of messages in it. Claimed a tenth of a second's worth at a time (2 messages at 20/s), a
    held-back delivery cost the API's process 2.1-2.2 ms of CPU, against ~0.75 ms at full speed
    (``bench/notification_worker.py --slack --events 100 --busy-rate 20``).
    """

    def __init__(self, db: Database, *, name: str | None = None, concurrency: int = 32,
                 poll_interval: float = 0.2, timeout: float = 10.0, lease: timedelta = repository.DEFAULT_LEASE,
                 retry_base: float = BASE_DELAY_SECONDS, busy_share: float | None = None,
                 busy_rate: float = 20.0, busy_hold: float = 0.0) -> None:
        self.db = db
        self.name = name or default_worker_name()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.lease = lease
        self.retry_base = retry_base
        self.busy_share = busy_share
        self.busy_rate = busy_rate
        self.busy_hold = busy_hold
        self.claim_batch = max(1, concurrency // 4)
        self.load: LoopLoad | None = None  # created by run(), in the loop's thread
        self.throttled = 0  # claims made while yielding to the API (for tests and logs)
        self.wakeup = asyncio.Event()
        # Outcomes waiting to be recorded: written in batches, one transaction per batch, so
        # that a busy worker spends one commit per many deliveries, not one each.
        self._outcomes: list[tuple] = []
        self._recorder: asyncio.Task | None = None
        self._claim_failures = 0  # claims failed in a row: the backoff grows with them

    async def run(self, stop: asyncio.Event) -> None:
        in_flight: dict[asyncio.Task, float] = {}  # each delivery and when it started
        load = self.load = self.load or LoopLoad()  # measured in the thread that runs the loop
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        pace = _Pace(self.busy_hold, self.busy_rate, max(1, round(self.busy_rate * BUSY_CLAIM_SECONDS)))
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as client:
            claimed_at = 0.0
            while not stop.is_set():
                limit, wait = self._free_slots(in_flight, claimed_at)
                busy = self.busy_share is not None and load.update() >= self.busy_share
                limit, wait = pace.limit(busy, limit, wait)
                claimed: list[tuple] = []
                if limit > 0:
                    claimed_at = time.monotonic()
                    claimed = await self._claim(limit)
                    if busy:
                        pace.tokens -= len(claimed)
                        self.throttled += 1
                await self._start(client, claimed, in_flight)
                if not claimed:  # idle, every slot busy or holding back: wait for a slot, new work or the poll
                    await self._idle(stop, wait)
            if in_flight:  # a graceful stop finishes what it started
                await asyncio.gather(*in_flight, return_exceptions=True)
            if self._recorder is not None:
                await self._recorder

    def _free_slots(self, in_flight: dict[asyncio.Task, float], claimed_at: float) -> tuple[int, float]:
        """How many messages to claim now, and how long to wait if none is claimed."""
        limit = self.concurrency - len(in_flight)
        if in_flight and limit < self.claim_batch:
            # Deliveries finish one by one; a claim per freed slot cost a transaction per
            # delivery. Wait for a quarter of the slots (or the poll), counting the slots
            # held by slow deliveries as free: a slow endpoint must not hold up the others.
            now = time.monotonic()
            slow = sum(1 for started in in_flight.values() if now - started > SLOW_DELIVERY_SECONDS)
            until_poll = claimed_at + self.poll_interval - now
            if limit + slow < self.claim_batch and until_poll > 0:
                return 0, until_poll
        return limit, self.poll_interval

    async def _claim(self, limit: int) -> list[tuple]:
        try:
            claimed = await self.db.run(_claim_with_destinations, self.db, worker=self.name, limit=limit,
                                        lease=self.lease)
        except Exception:
            # The database is down or busy: say so once, then back off (up to 10 s).
            self._claim_failures += 1
            if self._claim_failures == 1:
                logger.exception("claiming outbox messages failed; retrying with backoff")
            await asyncio.sleep(min(10.0, self.poll_interval * 2**self._claim_failures))
            return []
        self._claim_failures = 0
        return claimed

    async def _start(self, client: aiohttp.ClientSession, claimed: list[tuple],
                     in_flight: dict[asyncio.Task, float]) -> None:
        def finished(task: asyncio.Task) -> None:
            in_flight.pop(task, None)
            self.wakeup.set()

        for message, destination in claimed:
            task = asyncio.create_task(self._deliver(client, message, destination))
            in_flight[task] = time.monotonic()
            task.add_done_callback(finished)
            # One delivery started per turn of the loop: the requests that arrived
            # meanwhile are served between two, not after the whole claim's first steps
            # (createTicket's p99 with deliveries going out: bench/README.md).
            await asyncio.sleep(0)

    async def _idle(self, stop: asyncio.Event, wait: float) -> None:
        self.wakeup.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wakeup.wait())]
        await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _deliver(self, client: aiohttp.ClientSession, message: repository.Claimed, destination) -> None:
        started_at, started = utcnow(), time.perf_counter()
        try:
            outcome = await self._send(client, message, destination)
        except TimeoutError:
            outcome = Outcome.retry(None, "timed out")
        except aiohttp.ClientError as exc:
            # The exception's text can hold the URL, which is a secret for Slack: name the kind only.
            outcome = Outcome.retry(None, f"network error ({type(exc).__name__})")
        except Exception:
            logger.exception("delivering outbox message %s failed unexpectedly", message.id)
            outcome = Outcome.retry(None, "internal error while delivering")
        duration_ms = (time.perf_counter() - started) * 1000
        if self.load is not None:
            self.load.deliveries += 1
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
    async def _send(client: aiohttp.ClientSession, message: repository.Claimed, destination) -> Outcome:
        if isinstance(destination, Outcome):
            return destination
        if callable(destination):  # a channel that is not HTTP (email: mail.outbound.SmtpSend)
            return await destination()
        url, prepare, classify = destination
        try:
            body, headers = prepare()
        except Exception as exc:  # a malformed message fails alone, with its reason, never retried
            return _unpreparable(message, exc)
        async with client.post(url, data=body, headers=headers, allow_redirects=False) as response:
            text = await response.text(errors="replace")
            return classify(response.status, text, {k.lower(): v for k, v in response.headers.items()})


# A delivery in flight for longer than this is slow (a timing-out endpoint): its slot counts as
# free when the worker decides whether to wait for more slots before claiming.
SLOW_DELIVERY_SECONDS = 0.5

# Beside the API, the worker holds back when the API wants more than this share of a core
# (the event loop's thread is one core at most; see OutboxWorker), delivering at most
# ``settings.outbox_busy_rate`` messages a second until the load drops.
BUSY_SHARE = 0.5
# While holding back, the worker claims this many seconds' worth of messages at a time.
BUSY_CLAIM_SECONDS = 1.0


@dataclass
class _Pace:
    """How many messages to claim while the API is busy (``OutboxWorker``): none for ``hold``
    seconds, then a token bucket of ``rate`` deliveries a second, claimed ``batch`` at a time."""

    hold: float
    rate: float
    batch: int
    tokens: float = 0.0
    refilled: float = field(default_factory=time.monotonic)
    busy_since: float | None = None  # when the API's current burst began

    def limit(self, busy: bool, limit: int, wait: float) -> tuple[int, float]:
        """``limit`` and ``wait`` (the claim the free slots allow) as the pace allows them."""
        if not busy:
            self.busy_since = None
            return limit, wait
        now = time.monotonic()
        if self.busy_since is None:
            self.busy_since = now
        if now - self.busy_since < self.hold or self.rate <= 0:
            # A burst began: deliver nothing yet (a rate of 0: nothing until it ends). The
            # bucket is full when the hold ends, so the trickle starts then.
            self.tokens, self.refilled = float(self.batch), now
            return 0, wait
        self.tokens, self.refilled = min(float(self.batch), self.tokens + (now - self.refilled) * self.rate), now
        if self.tokens < self.batch:
            return 0, min(wait, (self.batch - self.tokens) / self.rate)
        return min(limit, int(self.tokens)), wait


def worker_from_settings(db: Database, settings, *, name: str | None = None, beside_api: bool = True) -> OutboxWorker:
    """The worker ``telemetron serve`` runs beside the API (``beside_api``), or a ``telemetron worker``."""
    return OutboxWorker(
        db,
        name=name,
        concurrency=settings.outbox_concurrency,
        poll_interval=settings.outbox_poll_seconds,
        timeout=settings.outbox_delivery_timeout_seconds,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        retry_base=settings.outbox_retry_base_seconds,
        busy_share=BUSY_SHARE if beside_api else None,
        busy_rate=settings.outbox_busy_rate,
        busy_hold=settings.outbox_busy_hold_seconds,
    )


def _claim_with_destinations(conn, db: Database, *, worker: str, limit: int, lease: timedelta) -> list[tuple]:
    """Claim due messages, fan the claimed events out to their destinations, resolve where each
    delivery goes: one transaction, so an event is replaced by its deliveries only if all of it commits."""
    claimed = repository.claim(conn, worker=worker, limit=limit, lease=lease)
    messages = [m for m in claimed if m.channel != repository.EVENT]
    if len(messages) < len(claimed):
        planned = []
        for event in claimed:
            if event.channel != repository.EVENT:
                continue
            try:
                planned.append((event, events.deliveries(event.event, event.organization_id, event.payload)))
            except Exception as exc:  # one malformed event fails alone, never the whole claim
                logger.exception("outbox event %s cannot be fanned out", event.id)
                repository.fail_unprepared(conn, event, f"cannot prepare the message ({type(exc).__name__})",
                                           worker=worker)
        # Deliver at once what fits in this claim's slots; the rest waits, pending, for the next claim.
        messages += repository.fan_out(conn, planned, worker=worker, lease=lease,
                                       claim_first=max(0, limit - len(messages)))
    lookups: dict = {}
    return [(message, _safe_destination(conn, db, message, lookups)) for message in messages]


def _safe_destination(conn, db: Database, message: repository.Claimed, lookups: dict):
    """One malformed message fails alone (recorded with its reason), never the whole claim."""
    try:
        return _destination(conn, db, message, lookups)
    except Exception as exc:
        return _unpreparable(message, exc)


def _unpreparable(message: repository.Claimed, exc: Exception) -> Outcome:
    """A message that cannot be read or built fails for good, with its reason (no attempt was made)."""
    logger.exception("outbox message %s cannot be prepared", message.id)
    return Outcome.failed(None, f"cannot prepare the message ({type(exc).__name__})")


def _record_all(conn, batch: list[tuple], *, worker: str, retry_base: float) -> list[str]:
    from telemetron.mail.outbound import settle

    states = repository.record_many(conn, batch, worker=worker, retry_base=retry_base)
    settle(conn, batch, states)  # an email's delivery state shows on its ticket message
    return states


def _lookup(lookups: dict, key: tuple, read):
    """Settings read once per claim (a batch often holds many messages for one organization)."""
    try:
        return lookups[key]
    except KeyError:
        value = lookups[key] = read()
        return value


def _endpoint(scoped: Scoped, endpoint_id: str) -> dict | None:
    try:
        return notification_settings.get_endpoint(scoped, endpoint_id)
    except NotFound:
        return None


def _destination(conn, db: Database, message: repository.Claimed, lookups: dict):
    """Where to send, read when the message is claimed (a fixed URL applies to pending messages):
    ``(url, prepare, classify)``, or the Outcome that ends it. ``prepare()`` gives the body and
    headers; it runs in the delivery's own task, not in the claim's transaction, which the
    requests batched with it wait for (bench/README.md)."""
    scoped = Scoped(db, conn, message.organization_id)
    if message.channel == "slack":
        url, channel = _lookup(lookups, (message.organization_id, "slack"),
                               lambda: notification_settings.get_slack(scoped))
        if not url:
            return Outcome.failed(None, "no Slack webhook URL is configured for this organization")
        return url, functools.partial(_slack_request, message, channel), slack.classify
    if message.channel == "webhook":
        endpoint = _lookup(lookups, (message.organization_id, "webhook", message.target),
                           lambda: _endpoint(scoped, message.target or ""))
        if endpoint is None:
            return Outcome.failed(None, "the webhook endpoint no longer exists")
        if not endpoint["enabled"]:
            return Outcome.failed(None, "the webhook endpoint is disabled")
        sign_with = (endpoint["secret"], rotation.previous_secret(endpoint))
        return endpoint["url"], functools.partial(_webhook_request, message, *sign_with), webhooks.classify
    if message.channel == "email":
        from telemetron.mail.outbound import destination

        return destination(scoped, message, timeout=30.0)
    return Outcome.failed(None, f"unknown channel {message.channel}")


def _slack_request(message: repository.Claimed, default_channel: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = events.slack_message(message.event, message.payload, default_channel=default_channel)
    return orjson.dumps(body), {"Content-Type": "application/json"}


def _webhook_request(message: repository.Claimed, secret: str, previous: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(message.payload)
    return body, {
        "Content-Type": "application/json",
        "User-Agent": "Telemetron-Webhooks/1",
        "X-Telemetron-Event": message.event,
        "X-Telemetron-Delivery": str(message.id),
        webhooks.SIGNATURE_HEADER: webhooks.sign(secret, body, previous=previous),
    }
