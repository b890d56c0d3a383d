"""Migrations are the schema: on SQLite and PostgreSQL they produce exactly what tables.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from telemetron.db.migrate import current_revision
from telemetron.db.tables import declared_here, metadata


def test_migrated_database_matches_the_declared_schema(db, database_url):
    assert current_revision(database_url) is not None
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": declared_here}), metadata)
    assert diff == []
