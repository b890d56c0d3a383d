"""What every CLI command needs: a database for one command, one transaction, readable failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from sqlalchemy.exc import DBAPIError

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
    return _in_transaction(False, fn, *args, **kwargs)


def read(fn, *args, **kwargs):
    """``run`` for a command that only reads (the listings). On SQLite its transaction neither takes
    nor waits for the write lock: a listing of a large outbox must not hold up the server's writes."""
    return _in_transaction(True, fn, *args, **kwargs)


def _in_transaction(read_only: bool, fn, *args, **kwargs):
    db = open_db()
    try:
        with explained_failures():
            return (db.read_sync if read_only else db.run_sync)(fn, db, *args, **kwargs)
    finally:
        db.dispose()


@contextmanager
def explained_failures():
    """An AppError becomes ``error: ...`` and exit 1; so does a database error when the database
    was never created or is behind the code ("no such table"), with what to run, not a traceback."""
    try:
        yield
    except AppError as exc:
        fail(exc.message)
    except DBAPIError:
        from telemetron.db.migrate import schema_problem

        problem = schema_problem(get_settings().database_url)
        if problem is None:
            raise
        fail(problem)


def scoped_run(org_id: str, fn, *args, **kwargs):
    """Run ``fn(scoped, ...)`` for organization ``org_id`` (which must exist) in one transaction."""
    return run(_scoped(org_id, fn), *args, **kwargs)


def scoped_read(org_id: str, fn, *args, **kwargs):
    """``scoped_run`` for a command that only reads (see ``read``)."""
    return read(_scoped(org_id, fn), *args, **kwargs)


def _scoped(org_id: str, fn):
    from telemetron.orgs.service import get_organization

    def unit(conn, db, *args, **kwargs):
        get_organization(conn, org_id)
        from telemetron.audit import Actor

        return fn(Scoped(db, conn, org_id, Actor.cli()), *args, **kwargs)

    return unit


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, default=str))


def echo_records(records: dict | list[dict], as_json: bool, line: Callable[[dict], str]) -> None:
    """A command's result, one record or a list: as JSON for scripts, or a line of text each."""
    if as_json:
        echo_json(records)
        return
    for record in records if isinstance(records, list) else [records]:
        typer.echo(line(record))


def echo_result(as_json: bool, value: Any, line: str) -> None:
    """``value`` as JSON for scripts (``--json``), else ``line`` for a person."""
    if as_json:
        echo_json(value)
    else:
        typer.echo(line)


def parse_json_option(text: str, *, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{what} is not valid JSON: {exc}")
