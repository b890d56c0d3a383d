"""What every CLI command needs: a database for one command, one transaction, readable failures."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from telemetron.config import get_settings
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.errors import AppError

OrgOption = Annotated[str, typer.Option("--org", help="Organization id (org_...).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def open_db() -> Database:
    return Database(get_settings().database_url, pool_size=2)


def fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def run(fn, *args, **kwargs):
    """Run ``fn(conn, db, ...)`` in one transaction; an AppError becomes ``error: ...`` and exit 1."""
    db = open_db()
    try:
        return db.run_sync(fn, db, *args, **kwargs)
    except AppError as exc:
        fail(exc.message)
    finally:
        db.dispose()


def scoped_run(org_id: str, fn, *args, **kwargs):
    """Run ``fn(scoped, ...)`` for organization ``org_id`` (which must exist) in one transaction."""
    from telemetron.orgs.service import get_organization

    def unit(conn, db):
        get_organization(conn, org_id)
        return fn(Scoped(db, conn, org_id), *args, **kwargs)

    return run(unit)


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, default=str))


def parse_json_option(text: str, *, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{what} is not valid JSON: {exc}")
