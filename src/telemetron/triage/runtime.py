"""The categorizer inside the server: batched predictions off the event loop, background retraining.

Decided by measurement (bench/README.md): a prediction costs milliseconds of CPU (embedding the
ticket), far more than the rest of createTicket, so it never runs in the event loop or inside the
single SQLite writer. A request whose ticket needs the AI awaits ``Categorizer.predict``; the
requests that arrive together are embedded as one batch in one helper thread (onnxruntime and
numpy release the GIL), which is several times cheaper per ticket than one at a time; then the
ticket is written with the answer, in its own transaction, so the category is settled before
routing and notifications run, as Telemetron orders them.

Models are per organization, stored in the database (``triage.store``) and cached here by their
version, which comes with the organization's cached configuration (``orgs.config``). An
organization without a model gets one trained on demand from its categories' names,
descriptions and example phrases, plus at most ``store.BOOTSTRAP_MAX_TICKETS`` of its labelled
tickets, in one quick fit (under a second for a few categories, ~5 s of CPU for 77); the
background retrainer then keeps it current as labelled tickets and corrections arrive.
Retraining runs in a child process (``triage.trainer``), never in a request nor in this
process: a large organization costs 1-2 min of CPU and ~700 MB at its peak, which the
server's memory and GIL never see. The child stores the model in the database, and this
process picks the new version up with the next ticket, as it would from another server process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped

logger = logging.getLogger("telemetron.triage")
RETRAIN_EVERY_SECONDS = 30
#: After a failed training, the organization waits this long before the next try, doubling
#: with each failure up to RETRY_MAX_SECONDS.
RETRY_AFTER_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Request:
    org_id: str
    model_version: int | None
    threshold: float | None
    allowed: frozenset[str]
    text: str
    # (label, name, description) of each category that may be chosen, for the LLM engine.
    choices: tuple[tuple[str, str, str], ...] = ()


class Categorizer:
    # Two predictor threads share the one encoder (onnxruntime releases the GIL): measured
    # 209 tickets/s with one thread, ~390/s with two on these 2 cores (bench/README.md).
    PREDICTOR_THREADS = 2
    #: Tickets per predictor call: the encoder's batch (embedder.embed's batch_size).
    MAX_BATCH = 16

    def __init__(self, db: Database) -> None:
        self.db = db
        self._predictor = ThreadPoolExecutor(max_workers=self.PREDICTOR_THREADS, thread_name_prefix="triage")
        self._training = None  # the training child process, while one runs
        self._failures: dict[str, tuple[int, float]] = {}  # org -> (failures in a row, next try)
        self._checked: dict = {}  # org -> up to when its tickets were checked for new labels
        self._models: dict[str, tuple[int, object, frozenset[str]]] = {}  # org -> (version, model, covers)
        self._model_lock = threading.Lock()  # guards _org_locks
        self._org_locks: dict[str, threading.Lock] = {}  # one load or quick training per organization at a time
        self._quick_trained_for: dict[str, frozenset[str]] = {}  # org -> the categories it was quick-trained for
        self._pending: list[tuple[Request, asyncio.Future]] = []
        self._running = 0

    async def predict(self, request: Request):
        """The prediction for one ticket (batched with the others waiting)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((request, future))
        if self._running < self.PREDICTOR_THREADS:
            self._running += 1
            loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                # At most one encoder batch at a time: under load the backlog is shared by both
                # threads instead of going whole to whichever finished first.
                batch, self._pending = self._pending[:self.MAX_BATCH], self._pending[self.MAX_BATCH:]
                if self._pending and self._running < self.PREDICTOR_THREADS:
                    self._running += 1
                    loop.create_task(self._drain())
                try:
                    results = await loop.run_in_executor(self._predictor, self._predict_batch, [r for r, _ in batch])
                except Exception as exc:
                    logger.exception("categorizing %d tickets failed", len(batch))
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results):
                    if future.cancelled():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._running -= 1

    def _predict_batch(self, requests: list[Request]) -> list:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, r in enumerate(requests):
            groups[(r.org_id, r.model_version, r.threshold, r.allowed)].append(i)
        results: list = [None] * len(requests)
        for (org_id, version, threshold, allowed), indexes in groups.items():
            try:
                model = self._model(org_id, version, allowed)
                if model is None:
                    continue  # no AI category: stays uncategorized
                predictions = model.predict([requests[i].text for i in indexes], threshold=threshold, allowed=allowed)
                for i, prediction in zip(indexes, predictions):
                    results[i] = prediction
            except Exception as exc:  # one organization's broken model must not fail the others
                logger.exception("categorizing for organization %s failed", org_id)
                for i in indexes:
                    results[i] = exc
        return results

    def _model(self, org_id: str, version: int | None, allowed: frozenset[str] = frozenset()):
        cached = self._models.get(org_id)
        if cached is not None and version is not None and cached[0] == version and allowed <= cached[2]:
            return cached[1]
        with self._model_lock:
            lock = self._org_locks.setdefault(org_id, threading.Lock())
        with lock:  # one load or quick training per organization at a time; others go on
            cached = self._models.get(org_id)
            if cached is not None and version is not None and cached[0] == version and allowed <= cached[2]:
                return cached[1]
            return self._load_model(org_id, allowed)

    def _load_model(self, org_id: str, allowed: frozenset[str] = frozenset()):
        """The organization's stored model; a quick new one if there is none yet, or if categories
        were opened to the AI since it was trained (it would never choose them)."""
        from telemetron.triage import Model
        from telemetron.triage.store import (
            BOOTSTRAP_MAX_TICKETS,
            stored_model,
            train_organization,
        )

        row = self.db.read_sync(lambda conn: stored_model(Scoped(self.db, conn, org_id)))
        model = Model.from_bytes(row["model"]) if row is not None else None
        unknown = allowed - set(model.labels) if model is not None else allowed
        if row is None or model is None or unknown - self._quick_trained_for.get(org_id, frozenset()):
            # First ticket, or new categories: learn from the categories (and a few labelled
            # tickets) now, in one quick fit; the background retrainer refines it in a child process.
            # Once per new category and process: one that yields no example (a name of only
            # punctuation) never becomes a label, and must not retrain the model on every ticket.
            self._quick_trained_for[org_id] = self._quick_trained_for.get(org_id, frozenset()) | unknown
            model = train_organization(self.db, org_id, max_tickets=BOOTSTRAP_MAX_TICKETS, quick=True)
            row = self.db.read_sync(lambda conn: stored_model(Scoped(self.db, conn, org_id)))
            if row is None or model is None:
                return None
        # What it may be asked for without training again: its labels, and what it was just trained
        # for (a category it could not learn must not retrain it on every ticket).
        self._models[org_id] = (row["version"], model, frozenset(model.labels) | allowed)
        return model

    async def retrain_forever(self) -> None:
        """Retrain organizations whose data changed, one at a time, each in a child process."""
        from telemetron.triage.store import organizations_to_retrain

        while True:
            await asyncio.sleep(RETRAIN_EVERY_SECONDS)
            try:
                # Read in a reader thread (never on the event loop), and only what changed since.
                for org_id in await self.db.read(organizations_to_retrain, self._checked):
                    failures, next_try = self._failures.get(org_id, (0, 0.0))
                    if time.monotonic() < next_try:
                        continue
                    try:
                        await self.retrain(org_id)
                    except Exception:
                        delay = min(RETRY_AFTER_SECONDS * 2 ** failures, RETRY_MAX_SECONDS)
                        self._failures[org_id] = (failures + 1, time.monotonic() + delay)
                        logger.exception("retraining the categorizer of %s failed; the current model stays "
                                         "in service, next try in %.0f s", org_id, delay)
            except Exception:
                logger.exception("retraining categorizers failed; trying again later")

    async def retrain(self, org_id: str, *, timeout: float | None = None) -> dict:
        """Train ``org_id``'s model in a child process, which stores it; the child's report.
        Raises ``trainer.TrainingFailed`` (nothing stored, the old model stays in service)."""
        from telemetron.triage import trainer

        def keep(process) -> None:
            self._training = process

        try:
            report = await trainer.train_in_subprocess(
                self.db.url, org_id, timeout=trainer.TIMEOUT_SECONDS if timeout is None else timeout, on_start=keep)
        finally:
            self._training = None
        self._failures.pop(org_id, None)
        logger.info("retrained the categorizer of %s in a child process: %s", org_id, report)
        return report

    async def warm_up(self, *, load_model: bool) -> None:
        """Say at start-up which engine is in use; load the embedding model now only if asked
        (``TELEMETRON_TRIAGE_PRELOAD``): it costs ~250 MB, which a server whose clients always
        send a category never needs; otherwise the first ticket that needs the AI loads it (<1 s)."""
        from telemetron.triage import engine_description, warm_up

        if load_model:
            description = await asyncio.get_running_loop().run_in_executor(self._predictor, warm_up)
        else:
            description = engine_description()
        logger.warning("%s", description)

    def close(self) -> None:
        self._predictor.shutdown(wait=False, cancel_futures=True)
        training = self._training
        if training is not None and training.returncode is None:
            try:
                training.kill()  # its work is lost, not its data: nothing was stored
            except ProcessLookupError:
                pass
