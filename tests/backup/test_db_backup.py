"""``telemetron db backup FILE`` while the server serves and writes: SQLite's online backup API,
PostgreSQL's pg_dump (restored with pg_restore into a fresh database)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text

from telemetron.db.engine import normalize_url
from tests.support.cli import failed_readably, succeeded
from tests.support.databases import POSTGRES_URL, count

CREATE = "/api/ext-v1/ticket/createTicket"


class Writer(threading.Thread):
    """Creates tickets through the API until stopped; remembers what was acknowledged."""

    def __init__(self, base_url: str, tenant) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base_url, timeout=30, headers=tenant.headers)
        self.stop = threading.Event()
        self.acknowledged: list[str] = []
        self.statuses: set[int] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            response = self.client.post(CREATE, json={"title": "During the backup", "customerEmail": "b@example.com",
                                                      "messages": [{"role": "customer", "content": "x" * 2000}]})
            self.statuses.add(response.status_code)
            if response.status_code == 200:
                self.acknowledged.append(response.json()["ticketId"])

    def finish(self) -> None:
        self.stop.set()
        self.join(30)
        self.client.close()


def test_backup_while_the_server_writes(live_server, database_url, db, tenant, cli, tmp_path):
    writer = Writer(live_server.url, tenant)
    writer.start()
    try:
        while len(writer.acknowledged) < 20:
            time.sleep(0.01)
        before = len(writer.acknowledged)
        target = tmp_path / "telemetron.backup"
        output = succeeded(cli("db", "backup", str(target)))
        during = len(writer.acknowledged) - before
        time.sleep(0.2)
    finally:
        writer.finish()
    assert writer.statuses == {200}  # the server never stopped serving
    assert len(writer.acknowledged) > before  # and kept writing
    if database_url.startswith("sqlite"):
        assert "with SQLite online backup API" in output and "schema revision" in output
        backed_up = sqlite_tickets(target, tenant.id)
    else:
        assert "with pg_dump --format=custom" in output and "pg_restore" in output
        backed_up = restored_tickets(target, tenant.id)
    # A consistent snapshot: everything acknowledged before the backup started, nothing invented.
    assert set(writer.acknowledged[:before]) <= backed_up <= set(writer.acknowledged)
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == len(writer.acknowledged)
    print(f"tickets acknowledged during the backup: {during}")


def sqlite_tickets(path, org_id: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("select t.id, count(m.id) from tickets t left join ticket_messages m on m.ticket_id = t.id "
                            "where t.organization_id = ? group by t.id", (org_id,)).fetchall()
    finally:
        conn.close()
    assert all(n == 1 for _, n in rows)  # each ticket with its message: whole transactions only
    return {ticket_id for ticket_id, _ in rows}


def restored_tickets(path, org_id: str) -> set[str]:
    if shutil.which("pg_restore") is None:
        pytest.fail("pg_restore is missing (apt-get install postgresql-client)")
    name = f"telemetron_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = normalize_url(POSTGRES_URL).rsplit("/", 1)[0] + f"/{name}"
        subprocess.run(["pg_restore", "--no-owner", "--dbname", url.replace("+psycopg", ""), str(path)], check=True)
        restored = create_engine(url)
        with restored.connect() as conn:
            ids = {r[0] for r in conn.execute(text("select id from tickets where organization_id = :o"), {"o": org_id})}
            orphans = conn.execute(text("select count(*) from tickets t where t.organization_id = :o and not exists "
                                        "(select 1 from ticket_messages m where m.ticket_id = t.id)"),
                                   {"o": org_id}).scalar()
        restored.dispose()
        assert orphans == 0
        return ids
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_never_overwrites_a_file(cli, tmp_path):
    target = tmp_path / "exists.db"
    target.write_text("precious")
    failed_readably(cli("db", "backup", str(target)), "already exists")
    assert target.read_text() == "precious"
    failed_readably(cli("db", "backup", str(tmp_path / "no" / "such" / "dir.db")), "is not a directory")
