"""A fresh, migrated database of either kind, for a test that moves data into one."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from telemetron.db.engine import normalize_url
from telemetron.db.migrate import upgrade
from tests.support.databases import POSTGRES_URL, postgres_available


@pytest.fixture
def fresh_database(tmp_path):
    """``fresh_database("sqlite" | "postgresql")``: the URL of a new, migrated, empty database."""
    made: list[str] = []
    admin = None

    def make(kind: str) -> str:
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
        upgrade(url)
        return url

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
