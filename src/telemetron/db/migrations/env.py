"""Alembic environment: migrations run on SQLite and PostgreSQL alike (see ``telemetron.db.migrate``)."""

from alembic import context
from sqlalchemy import create_engine

from telemetron.db.engine import normalize_url
from telemetron.db.tables import declared_here, metadata

config = context.config


def run_migrations() -> None:
    url = normalize_url(config.get_main_option("sqlalchemy.url"))
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            # SQLite cannot ALTER most things in place: batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=declared_here,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
