"""Migrations are the schema: on SQLite and PostgreSQL they produce exactly what tables.py declares;
those that move data move it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from telemetron.db.engine import Database
from telemetron.db.migrate import current_revision, downgrade, upgrade
from telemetron.db.scoped import Scoped
from telemetron.db.tables import declared_here, metadata
from telemetron.tickets.create import create_ticket
from telemetron.tickets.requests import parse_create_ticket
from tests.support.databases import count


def test_migrated_database_matches_the_declared_schema(db, database_url):
    assert current_revision(database_url) is not None
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": declared_here}), metadata)
    assert diff == []


def test_upgrading_postgresql_numbers_each_organization_on_from_its_last_ticket(fresh_database):
    url = fresh_database("postgresql", revision="0018_ticket_insert_cost")
    db = Database(url, pool_size=2)
    try:
        with db.engine.begin() as conn:  # an organization numbered in its row, as before 0019
            conn.execute(text("insert into organizations (id, name, created_at, last_ticket_number) "
                              "values ('org_old', 'Old', now(), 41)"))
        upgrade(url)
        request = parse_create_ticket({"title": "After the upgrade", "customerEmail": "ann@example.com"})[0]
        ticket = db.run_sync(lambda conn: create_ticket(Scoped(db, conn, "org_old"), request))
        assert count(db, "select number from tickets where id = :t", t=ticket.id) == 42
        downgrade(url, "0018_ticket_insert_cost")  # the row says where numbering is again
        assert count(db, "select last_ticket_number from organizations where id = 'org_old'") == 42
    finally:
        db.dispose()
