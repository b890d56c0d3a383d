"""``telemetron export --org ORG`` and ``telemetron import FILE``: one organization's data, out and in.

``telemetron db backup`` (the whole database) is with the other ``db`` commands (``db/cli.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from telemetron.cli_support import OrgOption, explained_failures, fail, open_db

export_import_app = typer.Typer()


@export_import_app.command("export")
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


@export_import_app.command("import")
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

