"""``telemetron db upgrade|backup``: the database's schema and a consistent copy of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from telemetron.cli_support import explained_failures
from telemetron.config import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the database schema."""
    from telemetron.db.migrate import current_revision, upgrade

    url = get_settings().database_url
    before = current_revision(url)
    upgrade(url, revision)
    after = current_revision(url)
    if before is None:
        typer.echo(f"database created (schema revision {after})")
    elif before != after:
        typer.echo(f"database migrated from revision {before} to {after}")
    else:
        typer.echo(f"database is up to date (schema revision {after})")


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="Where to write the backup (must not exist).")]) -> None:
    """A consistent copy of the whole database, safe while the server runs (SQLite: online backup API; PostgreSQL: pg_dump)."""
    from telemetron.backup.database import PG_RESTORE_HINT, backup

    with explained_failures():
        done = backup(get_settings().database_url, file)
    typer.echo(f"backed up to {done.file} ({done.size:,} bytes) with {done.method}"
               + (f", schema revision {done.schema_revision}" if done.schema_revision else ""))
    if done.method.startswith("pg_dump"):
        typer.echo("restore: " + PG_RESTORE_HINT.format(file=done.file) + " (see docs/deploying.md)")
