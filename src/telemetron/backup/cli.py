"""``telemetron db backup FILE``, ``telemetron export --org ORG`` and ``telemetron import FILE``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from telemetron.cli_support import OrgOption, explained_failures, fail, open_db
from telemetron.config import get_settings


def db_backup(file: Annotated[Path, typer.Argument(help="Where to write the backup (must not exist).")]) -> None:
    """A consistent copy of the whole database, safe while the server runs (SQLite: online backup API; PostgreSQL: pg_dump)."""
    from telemetron.backup.database import PG_RESTORE_HINT, backup

    with explained_failures():
        done = backup(get_settings().database_url, file)
    typer.echo(f"backed up to {done.file} ({done.size:,} bytes) with {done.method}"
               + (f", schema revision {done.schema_revision}" if done.schema_revision else ""))
    if done.method.startswith("pg_dump"):
        typer.echo("restore: " + PG_RESTORE_HINT.format(file=done.file) + " (see docs/deploying.md)")


def export(
    org: OrgOption,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """One organization's data as JSON lines (no API key, password hash, webhook secret or Slack URL)."""
    from telemetron.backup.export import export_organization

    db = open_db()
    try:
        with explained_failures(), _opened(output) as out:
            counts = export_organization(db, org, out.write)
    finally:
        db.dispose()
    typer.echo("exported " + ", ".join(f"{n} {kind}" for kind, n in counts.items()), err=True)


def import_(file: Annotated[Path, typer.Argument(help="An export (`telemetron export`), or - for stdin.")]) -> None:
    """Import an organization export into this database (which must not hold it yet), with the same ids."""
    from telemetron.backup.load import import_lines

    if str(file) != "-" and not file.is_file():
        fail(f"{file} is not a file")
    db = open_db()
    try:
        with explained_failures(), (open(file, encoding="utf-8") if str(file) != "-" else _stdin()) as lines:
            done = import_lines(db, lines)
    finally:
        db.dispose()
    counts = ", ".join(f"{n} {kind}" for kind, n in done["counts"].items())
    typer.echo(f"imported organization {done['organizationId']}: {counts}")
    typer.echo("next: give members passwords (telemetron member password), create API keys (telemetron apikey "
               "create), set Slack and webhooks again (telemetron slack set, webhook add)")


class _opened:
    """stdout, or a file written beside ``path`` and renamed into place when the export succeeds."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial") if path else None

    def __enter__(self):
        self.file = open(self.partial, "w", encoding="utf-8") if self.partial else sys.stdout
        return self.file

    def __exit__(self, exc_type, *_):
        if self.partial is None:
            self.file.flush()
            return
        self.file.close()
        if exc_type is None:
            self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)


class _stdin:
    def __enter__(self):
        return sys.stdin

    def __exit__(self, *_):
        return None


def register(app: typer.Typer, db_app: typer.Typer) -> None:
    db_app.command("backup")(db_backup)
    app.command("export")(export)
    app.command("import")(import_)
