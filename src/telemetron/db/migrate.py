"""Schema migrations with Alembic, driven from code so that no alembic.ini has to be found on disk."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Percent signs in passwords would otherwise be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from telemetron.db.engine import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _scripts():
    """This code's migrations (no database needed to read them)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    return _scripts().get_current_head()


def schema_problem(url: str) -> str | None:
    """Why the database cannot be served as it is (not created, behind the code, or migrated by a
    newer version), or None."""
    try:
        current = current_revision(url)
    except Exception as exc:  # unreachable server, bad URL: say what, never the URL (it may hold a password)
        return f"the database cannot be reached ({type(exc).__name__})"
    head = head_revision()
    if current is not None and current != head and not _known_revision(current):
        return (f"the database schema is at revision {current}, which this version of telemetron does not know "
                f"(it needs {head}): a newer version migrated it; run that version, or restore a backup")
    if current != head:
        return (f"the database schema is at revision {current or 'none (empty database)'} and this code needs {head}: "
                "run `telemetron db upgrade`")
    return None


def _known_revision(revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False
