"""Fixtures: real databases (SQLite and PostgreSQL), a real HTTP server per database, fresh tenants.

Every test that uses ``api`` or ``db`` runs once per backend. PostgreSQL is the server at
``TELEMETRON_TEST_POSTGRES_URL`` (default: the machine's, database ``postgres`` for admin);
each test session creates its own database there and drops it at the end. When PostgreSQL is
unreachable the PostgreSQL half is skipped, except under CI (``CI`` set), where it fails: CI must
prove both backends.

Tests isolate by tenant, as the product does: each test makes its own organization(s), so one
database per session is enough and tests never see each other's rows.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from telemetron.app import create_app
from telemetron.categories.service import add_category
from telemetron.cli import app as cli_app
from telemetron.config import Settings, get_settings
from telemetron.db.engine import Database, normalize_url
from telemetron.db.migrate import upgrade
from telemetron.db.scoped import Scoped
from telemetron.orgs.apikeys import create_api_key
from telemetron.orgs.service import create_organization

POSTGRES_URL = os.environ.get("TELEMETRON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]


def _postgres_available() -> str | None:
    try:
        engine = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'telemetron.db'}"
        upgrade(url)
        yield url
        return
    problem = _postgres_available()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({problem})"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    name = f"telemetron_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(POSTGRES_URL).rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db(database_url) -> Iterator[Database]:
    database = Database(database_url, pool_size=4)
    yield database
    database.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app on a real uvicorn, in a thread: tests talk HTTP to it."""

    def __init__(self, settings: Settings) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_server(database_url) -> Iterator[LiveServer]:
    # No in-process delivery worker here: delivery tests run their own workers and count exactly.
    server = LiveServer(Settings(database_url=database_url, db_pool_size=8, run_worker=False)).start()
    yield server
    server.stop()


@pytest.fixture
def http(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@dataclass
class Tenant:
    """An organization with an API key, as a client of the API sees it."""

    id: str
    name: str
    api_key: str
    api_key_id: str
    categories: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


def make_tenant(
    db: Database, *, categories: tuple[str, ...] = ("Connectivity", "Battery", "Billing"), ai: bool = False
) -> Tenant:
    """A new organization with an API key and categories. The categories are not AI-enabled
    unless ``ai``: most tests want a ticket without a matching category to stay uncategorized,
    deterministically; the categorizer's own tests ask for it."""

    def unit(conn):
        org = create_organization(conn, name=f"Org {uuid.uuid4().hex[:8]}")
        key = create_api_key(conn, org_id=org["id"], name="tests")
        scoped = Scoped(db, conn, org["id"])
        for name in categories:
            add_category(scoped, name=name, description=f"{name} problems", ai_enabled=ai)
        return Tenant(org["id"], org["name"], key.key, key.id, list(categories))

    return db.run_sync(unit)


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant(db)


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant(db)


def count(db: Database, sql: str, **params) -> int:
    """Count rows with plain SQL: tests check what is stored, not what the services say."""
    with db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


# --- the CLI, driven in-process against the test database ------------------------------------------


@pytest.fixture
def cli(database_url, monkeypatch):
    """``cli("org", "create", ...)`` runs the command against the test database and returns the result."""
    monkeypatch.setenv("TELEMETRON_DATABASE_URL", database_url)
    runner = CliRunner()

    def invoke(*args: str):
        get_settings.cache_clear()
        try:
            return runner.invoke(cli_app, list(args))
        finally:
            get_settings.cache_clear()

    return invoke


def succeeded(result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result.stdout


def as_json(result):
    return json.loads(succeeded(result))


def failed_readably(result, *words: str) -> str:
    """A non-zero exit with an ``error: ...`` line naming the problem, and no traceback."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    message = result.stderr
    assert message.startswith("error: "), message
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    return message


# --- what a client sees: JSON bodies in, the ext-v1 specification's bodies out ---------------------------------------


def post(http, path, tenant=None, body=None, *, content=None, headers=None):
    """POST ``body`` as JSON (or raw ``content``) with the tenant's key."""
    all_headers = {"Content-Type": "application/json", **(tenant.headers if tenant else {}), **(headers or {})}
    return http.post(path, content=json.dumps(body).encode() if content is None else content, headers=all_headers)


def ok(response) -> dict:
    """A Telemetron success body: 200, JSON, ``success`` true and a message."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is True
    assert isinstance(body["message"], str) and body["message"]
    return body


def rejected(response, status: int, code: str, field=..., words=(), *, message=None) -> dict:
    """A Telemetron error body: the status, JSON with ``error``, ``code`` (and ``field`` unless
    ``...`` or ``"-"``), no ``success``, a request id, never a traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id")
    assert "Traceback" not in response.text
    body = response.json()
    assert "success" not in body
    assert isinstance(body["error"], str) and body["error"]
    assert body["code"] == code, body
    if field is not ... and field != "-":
        assert body.get("field") == field, body
    if message is not None:
        assert body["error"] == message, body
    for word in words:
        assert word.lower() in body["error"].lower(), (word, body["error"])
    return body
