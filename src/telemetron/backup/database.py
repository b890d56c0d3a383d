"""``telemetron db backup FILE``: a consistent copy of the whole database while the server runs.

SQLite: SQLite's online backup API, all pages in one step. In WAL mode that step is a read
transaction, so the server keeps writing meanwhile and the copy is the database as of one commit
(a backup taken in several steps restarts whenever a writer commits, and may never finish under
load). The copy is written beside the target, checked (``PRAGMA integrity_check``), then renamed
into place: an interrupted backup never leaves a half file under the target's name.

PostgreSQL: ``pg_dump --format=custom``, the tool PostgreSQL documents for this (one consistent
snapshot, no lock that blocks writers); restore with ``pg_restore`` (docs/deploying.md). The
password goes to pg_dump in its environment, never on its command line (visible in ``ps``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from telemetron.db.engine import normalize_url
from telemetron.errors import InvalidRequest

PG_RESTORE_HINT = "pg_restore --no-owner --dbname <new empty database> {file}"


@dataclass
class Backup:
    file: Path
    size: int
    method: str
    schema_revision: str | None = None


def backup(url: str, target: str | os.PathLike) -> Backup:
    target = Path(target)
    if target.exists():
        raise InvalidRequest(f"{target} already exists: choose a new file name (a backup never overwrites one)",
                             code="backup_exists")
    if not target.parent.is_dir():
        raise InvalidRequest(f"{target.parent} is not a directory", code="backup_no_directory")
    parsed = make_url(normalize_url(url))
    partial = target.with_name(target.name + ".partial")
    try:
        if parsed.get_backend_name() == "sqlite":
            revision = _sqlite_backup(parsed.database or "", partial)
            method = "SQLite online backup API"
        else:
            _pg_dump(parsed, partial)
            revision, method = None, "pg_dump --format=custom"
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, target.stat().st_size, method, revision)


def _sqlite_backup(source: str, partial: Path) -> str | None:
    if not Path(source).exists():
        raise InvalidRequest(f"There is no SQLite database at {source}", code="no_database")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # pages=-1: every page in one step, one snapshot
        problems = dst.execute("PRAGMA integrity_check").fetchall()
        if problems != [("ok",)]:
            raise InvalidRequest(f"The copy failed its integrity check: {problems[:3]}", code="backup_corrupt")
        try:
            return dst.execute("select version_num from alembic_version").fetchone()[0]
        except sqlite3.Error:
            return None
    finally:
        dst.close()
        src.close()


def _pg_dump(parsed, partial: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise InvalidRequest("pg_dump is not installed here (Debian: apt-get install postgresql-client); "
                             "or run docs/deploying.md's recipe on the database server: "
                             "pg_dump --format=custom --file FILE DBNAME", code="pg_dump_missing")
    env = {**os.environ, **_libpq_environment(parsed)}
    result = subprocess.run([pg_dump, "--format=custom", "--file", str(partial)], env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InvalidRequest(f"pg_dump failed: {result.stderr.strip()[:500]}", code="pg_dump_failed")


def _libpq_environment(parsed) -> dict[str, str]:
    """The connection as libpq's environment variables (PGHOST...), password included."""
    env = {"PGHOST": parsed.host, "PGPORT": str(parsed.port) if parsed.port else None, "PGUSER": parsed.username,
           "PGPASSWORD": parsed.password, "PGDATABASE": parsed.database,
           "PGSSLMODE": parsed.query.get("sslmode")}
    return {k: v for k, v in env.items() if v}
