"""/metrics: Prometheus' text format with the official client; counts that add up across processes."""

from __future__ import annotations

import glob
import os
import re
import tempfile
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from telemetron.config import Settings
from telemetron.db.scoped import Scoped
from telemetron.notifications.settings import add_endpoint
from tests.support.servers import LiveServer
from tests.support.tenants import make_tenant

CREATE = "/api/ext-v1/ticket/createTicket"
CREATED = ("telemetron_http_requests_total", {"method": "POST", "route": CREATE, "status": "200"})


def scrape(client: httpx.Client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, labels: dict | None = None) -> float:
    return samples.get((name, tuple(sorted((labels or {}).items()))), 0.0)


def _ticket(**fields) -> dict:
    return {"title": "Hub offline", "customerEmail": f"c{uuid.uuid4().hex[:8]}@example.com", **fields}


def test_requests_by_route_template_and_status_latency_and_tickets(http, db, tenant):
    before = scrape(http)
    assert http.post(CREATE, headers=tenant.headers, json=_ticket()).status_code == 200
    assert http.post(CREATE + "?dryRun=true", headers=tenant.headers, json=_ticket()).status_code == 200
    for ticket_id in ("nope-1", "nope-2"):  # one series for every id, not one per ticket
        assert http.get(f"/api/ext-v1/ticket/getTicket/{ticket_id}", headers=tenant.headers).status_code == 404
    http.get("/wp-login.php")
    after = scrape(http)

    def grew(name, labels=None):
        return value(after, name, labels) - value(before, name, labels)

    assert grew(*CREATED) == 2
    assert grew("telemetron_tickets_created_total") == 1  # the dry run created nothing
    get_labels = {"method": "GET", "route": "/api/ext-v1/ticket/getTicket/{ticketId}", "status": "404"}
    assert grew("telemetron_http_requests_total", get_labels) == 2
    assert grew("telemetron_http_requests_total", {"method": "GET", "route": "unmatched", "status": "404"}) == 1
    latency = {"method": "POST", "route": CREATE}
    assert grew("telemetron_http_request_duration_seconds_count", latency) == 2
    assert grew("telemetron_http_request_duration_seconds_bucket", {**latency, "le": "10.0"}) == 2
    assert not any("nope-1" in str(key) for key in after)


def test_categorizer_latency_is_observed(http, db):
    tenant = make_tenant(db, ai=True)
    before = scrape(http)
    assert http.post(CREATE, headers=tenant.headers, json=_ticket(title="The battery dies by noon")).status_code == 200
    after = scrape(http)
    name = "telemetron_categorizer_duration_seconds_count"
    assert value(after, name) - value(before, name) == 1


def test_outbox_depth_and_failed_deliveries_are_read_from_the_database(http, db, tenant):
    db.run_sync(lambda conn: add_endpoint(Scoped(db, conn, tenant.id), url="http://127.0.0.1:9/hook"))
    before = scrape(http)
    assert http.post(CREATE, headers=tenant.headers, json=_ticket()).status_code == 200  # no worker runs here
    middle = scrape(http)
    assert value(middle, "telemetron_outbox_pending") == value(before, "telemetron_outbox_pending") + 1
    assert value(middle, "telemetron_outbox_oldest_pending_seconds") >= 0
    with db.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE outbox SET status = 'failed' WHERE organization_id = :o"), {"o": tenant.id})
    after = scrape(http)
    assert value(after, "telemetron_outbox_failed") == value(middle, "telemetron_outbox_failed") + 1
    assert value(after, "telemetron_outbox_pending") == value(middle, "telemetron_outbox_pending") - 1


def test_a_metrics_token_is_required_when_set(database_url):
    server = LiveServer(Settings(database_url=database_url, run_worker=False, metrics_token="scrape-me")).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            refused = client.get("/metrics")
            assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
            assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
            assert scrape(client, authorization="Bearer scrape-me")
    finally:
        server.stop()


def test_counts_add_up_across_the_processes_of_serve_workers_2(database_url, db, tenant, spawn_server, tmp_path):
    if database_url.startswith("sqlite"):
        pytest.skip("--workers 2 needs PostgreSQL")
    metrics_dir = tmp_path / "metrics"
    server = spawn_server("--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection each: both processes answer
    with httpx.Client(base_url=server.url, limits=fresh, timeout=30) as client:
        for _ in range(60):
            assert client.post(CREATE, headers=tenant.headers, json=_ticket()).status_code == 200
        pids = {re.search(r"_(\d+)\.db$", path).group(1) for path in glob.glob(str(metrics_dir / "counter_*.db"))}
        assert len(pids) == 2, "both server processes should have answered some requests"
        for _ in range(6):  # whichever process answers the scrape, it counts all of them
            samples = scrape(client)
            assert value(samples, *CREATED) == 60
            assert value(samples, "telemetron_tickets_created_total") == 60


def test_serve_workers_2_makes_and_removes_its_own_metrics_directory(database_url, spawn_server):
    if database_url.startswith("sqlite"):
        pytest.skip("--workers 2 needs PostgreSQL")
    pattern = os.path.join(tempfile.gettempdir(), "telemetron-metrics-*")
    existing = set(glob.glob(pattern))
    server = spawn_server("--workers", "2")
    made = set(glob.glob(pattern)) - existing
    assert len(made) == 1
    with httpx.Client(base_url=server.url) as client:
        assert value(scrape(client), "telemetron_outbox_failed") >= 0
    server.process.terminate()
    server.process.wait(30)
    assert not (made & set(glob.glob(pattern)))
