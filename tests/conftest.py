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

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from telemetron.cli import app as cli_app
from telemetron.config import Settings, get_settings
from telemetron.db.engine import Database, normalize_url
from telemetron.db.migrate import upgrade
from tests.support.databases import POSTGRES_URL, postgres_available
from tests.support.servers import LiveServer, ServerProcess, free_port
from tests.support.tenants import Tenant, make_tenant

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'telemetron.db'}"
        upgrade(url)
        yield url
        return
    problem = postgres_available()
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


@pytest.fixture(scope="session")
def live_server(database_url) -> Iterator[LiveServer]:
    # No in-process delivery worker here: delivery tests run their own workers and count exactly.
    # The limiter runs on every request but never refuses: tests create tickets faster than any client
    # would (tests/ratelimit/ checks the limits themselves).
    server = LiveServer(Settings(database_url=database_url, db_pool_size=8, run_worker=False,
                                 rate_limit="100000/second")).start()
    yield server
    server.stop()


@pytest.fixture
def http(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant(db)


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant(db)


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


# --- `telemetron serve` as real processes ---------------------------------------------------------


@pytest.fixture
def spawn_server(database_url):
    """``spawn_server("--workers", "2", TELEMETRON_RATE_LIMIT="20/second")``: a started server process."""
    import subprocess
    import sys

    processes = []

    def spawn(*args: str, output=None, **env) -> ServerProcess:
        """``output``: a path that gets the server's stdout and stderr."""
        port = free_port()
        environment = {**os.environ, "TELEMETRON_DATABASE_URL": database_url, "TELEMETRON_RUN_WORKER": "false",
                       "TELEMETRON_LOG_LEVEL": "warning", "TELEMETRON_DB_POOL_SIZE": "4", **env}
        sink = open(output, "ab") if output else None  # noqa: SIM115 - the process writes to it until the end
        process = subprocess.Popen([sys.executable, "-m", "telemetron", "serve", "--port", str(port), *args],
                                   env=environment, stdout=sink, stderr=subprocess.STDOUT if sink else None)
        processes.append(process)
        return ServerProcess(process, f"http://127.0.0.1:{port}").wait_ready()

    yield spawn
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except Exception:  # noqa: BLE001 - a stuck server must not hang the suite
            process.kill()


@pytest.fixture
def fresh_database(tmp_path):
    """``fresh_database("sqlite" | "postgresql", revision="head")``: the URL of a new, empty database
    migrated to ``revision`` (a test that moves data into one, or upgrades one)."""
    made: list[str] = []
    admin = None

    def make(kind: str, revision: str = "head") -> str:
        nonlocal admin
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:6]}.db'}"
        else:
            problem = postgres_available()
            if problem:
                pytest.skip(f"PostgreSQL is not reachable ({problem})")
            admin = admin or create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
            name = f"telemetron_fresh_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            made.append(name)
            url = normalize_url(POSTGRES_URL).rsplit("/", 1)[0] + f"/{name}"
        upgrade(url, revision)
        return url

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
