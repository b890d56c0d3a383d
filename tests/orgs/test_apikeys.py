"""API keys' "last used" bookkeeping, over HTTP against the real server on both databases."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import text

from telemetron.db.scoped import Scoped
from telemetron.orgs.apikeys import list_api_keys
from tests.support.tenants import Tenant

PATH = "/api/ext-v1/ticket/createTicket"
BODY = {"title": "Device not connecting to WiFi", "customerEmail": "jane.roe@example.com"}


def last_used_at(db, tenant: Tenant):
    keys = db.run_sync(lambda conn: list_api_keys(Scoped(db, conn, tenant.id)))
    return next(k["last_used_at"] for k in keys if k["id"] == tenant.api_key_id)


def test_a_request_records_when_its_key_was_last_used(http, db, tenant):
    assert last_used_at(db, tenant) is None
    assert http.post(PATH, json=BODY, headers=tenant.headers).status_code == 200
    assert last_used_at(db, tenant) is not None


def test_a_request_does_not_wait_for_another_holding_its_keys_row(live_server, db, tenant):
    """A slow transaction holding the key's row (as a slow request refreshing last_used_at does
    until it commits) must not hold up the key's other requests."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer: there is no row lock to wait on")
    with db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM api_keys WHERE id = :id FOR UPDATE"), {"id": tenant.api_key_id})
        try:
            # The client's timeout guards the test: without the fix the request waits for the lock.
            with httpx.Client(base_url=live_server.url, timeout=10) as client:
                started = time.monotonic()
                response = client.post(PATH, json=BODY, headers=tenant.headers)
                elapsed = time.monotonic() - started
        finally:
            holder.rollback()
    assert response.status_code == 200, response.text
    assert elapsed < 2, f"the request waited {elapsed:.1f}s for another transaction's lock on its key"
