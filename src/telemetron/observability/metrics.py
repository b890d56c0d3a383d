"""Prometheus metrics with the official client, and the ``/metrics`` endpoint.

Requests are counted by method, route template (``/api/ext-v1/ticket/getTicket/{ticketId}``,
never the raw path: ids would make a series per ticket) and status. The outbox's depth and its
failed messages are read from the database at scrape time: they then cover every process that
delivers (the server's own worker and any ``telemetron worker``), with nothing to add up.
Under ``serve --workers N`` the counters and histograms live in files (``multiproc.py``) and a
scrape adds every process's together.
"""

from __future__ import annotations

import asyncio
import hmac
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from telemetron.db.engine import Database, utcnow
from telemetron.db.tables import outbox
from telemetron.observability.multiproc import ENV

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("telemetron_http_requests", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("telemetron_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["method", "route"], buckets=LATENCY_BUCKETS)
TICKETS_CREATED = Counter("telemetron_tickets_created", "Tickets created through the API (not dry runs or replays)")
CATEGORIZER_LATENCY = Histogram("telemetron_categorizer_duration_seconds",
                                "Time to categorize a ticket (offline engine or LLM, with its batching wait)",
                                buckets=LATENCY_BUCKETS)

# What the HTTP layer observes per request: the labelled children, looked up once (labels() takes a lock).
_children: dict[tuple[str, str, int], tuple] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    children[0].inc()
    children[1].observe(seconds)


class OutboxCollector:
    """The outbox as the database has it now: what waits to be delivered, and what failed for good."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):
        rows = self.db.read_sync(lambda conn: conn.execute(
            select(outbox.c.status, func.count(), func.min(outbox.c.created_at))
            .where(outbox.c.status.in_(("pending", "failed"))).group_by(outbox.c.status)).all())
        found = {status: (n, oldest) for status, n, oldest in rows}
        pending, oldest = found.get("pending", (0, None))
        yield GaugeMetricFamily("telemetron_outbox_pending", "Notifications (events and deliveries) not yet sent",
                                value=pending)
        yield GaugeMetricFamily("telemetron_outbox_failed",
                                "Deliveries that failed for good (until `telemetron outbox retry`)",
                                value=found.get("failed", (0, None))[0])
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("telemetron_outbox_oldest_pending_seconds",
                                "Age of the oldest notification not yet sent", value=max(0.0, age))


def exposition(db: Database) -> bytes:
    """Every metric, in Prometheus' text format (blocking: the database is read)."""
    if ENV in os.environ:  # every server process's files, added up
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    database = CollectorRegistry()
    database.register(OutboxCollector(db))
    return generate_latest(registry) + generate_latest(database)


async def metrics_endpoint(request: Request) -> Response:
    ctx = request.app.state.ctx
    token = ctx.settings.metrics_token
    if token and not hmac.compare_digest(request.headers.get("authorization", "").encode(),
                                         f"Bearer {token}".encode()):
        return Response(b'{"error": "Send the metrics token: Authorization: Bearer <TELEMETRON_METRICS_TOKEN>", '
                        b'"code": "unauthorized"}', status_code=401, media_type="application/json",
                        headers={"WWW-Authenticate": "Bearer"})
    body = await asyncio.to_thread(exposition, ctx.db)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
