"""/readyz: ready only with a reachable database at this code's schema; 503 and the reason otherwise."""

from __future__ import annotations

import asyncio

import httpx

from telemetron.app import create_app
from telemetron.config import Settings
from telemetron.db.migrate import head_revision, upgrade


def _readyz(settings: Settings) -> httpx.Response:
    """/readyz of an app that was never started (its database may be unusable)."""
    app = create_app(settings)

    async def ask():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
            return await client.get("/readyz")

    try:
        return asyncio.run(ask())
    finally:
        app.state.ctx.db.dispose()


def test_ready_with_the_schema_at_head(http):
    response = http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "schema": head_revision()}
    assert http.get("/healthz").json() == {"ok": True}


def test_a_database_behind_the_code_is_not_ready(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0009")
    response = _readyz(Settings(database_url=url))
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False and body["code"] == "schema_not_current"
    assert body["schema"] == "0009" and body["head"] == head_revision()
    assert "telemetron db upgrade" in body["error"]


def test_an_unreachable_database_is_not_ready_and_its_url_is_not_told():
    response = _readyz(Settings(database_url="postgresql://app:pa55word-xyz@127.0.0.1:1/telemetron"))
    assert response.status_code == 503
    assert response.json()["code"] == "database_unreachable"
    assert "pa55word" not in response.text and "127.0.0.1" not in response.text
