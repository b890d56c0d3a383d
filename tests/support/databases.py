"""The PostgreSQL and the Redis the tests use, and what is stored, counted with plain SQL."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

from telemetron.db.engine import Database, normalize_url

POSTGRES_URL = os.environ.get("TELEMETRON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# The rate-limit tests share their counters through it (tests/ratelimit/conftest.py: a key prefix per test).
REDIS_URL = os.environ.get("TELEMETRON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def count(db: Database, sql: str, **params) -> int:
    """Count rows with plain SQL: tests check what is stored, not what the services say."""
    with db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()
