"""``telemetron triage train|status|threshold``: an organization's categorizer, for admins."""

from __future__ import annotations

from typing import Annotated

import typer

from telemetron.cli_support import (
    JsonOption,
    OrgOption,
    echo_json,
    explained_failures,
    fail,
    open_db,
    scoped_read,
    scoped_run,
)


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(org: OrgOption) -> None:
        """Retrain the organization's categorizer now (the server also does it in the background)."""
        from telemetron.orgs.service import get_organization
        from telemetron.triage.store import train_organization

        db = open_db()
        try:
            with explained_failures():
                db.run_sync(lambda conn: get_organization(conn, org))
                model = train_organization(db, org)
        finally:
            db.dispose()
        if model is None:
            fail("the organization has no active, AI-enabled category to learn")
        typer.echo(f"trained ({model.trained_engine})")

    @app.command("status")
    def status_cmd(org: OrgOption, as_json: JsonOption = False) -> None:
        """The organization's model: engine, examples, labelled tickets, when trained."""
        from telemetron.triage import DEFAULT_THRESHOLD, engine_description
        from telemetron.triage.store import model_info, threshold_of

        def unit(scoped):
            return model_info(scoped), threshold_of(scoped.conn, scoped.org_id)

        info, threshold = scoped_read(org, unit)
        row = {"engineInstalled": engine_description(), "threshold": threshold, "model": info}
        if as_json:
            echo_json(row)
            return
        typer.echo(f"engine installed: {row['engineInstalled']}")
        typer.echo(f"threshold:        {threshold if threshold is not None else f'{DEFAULT_THRESHOLD} (the default)'}")
        if info is None:
            typer.echo("model:            none yet (trained with the first ticket that needs it)")
        else:
            typer.echo(f"model:            v{info['version']} {info['engine']}, {info['example_count']} examples, "
                       f"{info['labelled_tickets']} labelled tickets, trained {info['trained_at']}")

    @app.command("threshold")
    def threshold_cmd(
        org: OrgOption,
        value: Annotated[float, typer.Argument(min=0.0, max=1.0, help="Below this confidence the answer is none.")],
    ) -> None:
        """Set the organization's confidence threshold."""
        from sqlalchemy import update

        from telemetron.db.tables import organizations
        from telemetron.orgs.config_version import bump as bump_config_version

        def unit(scoped):
            scoped.conn.execute(update(organizations).where(organizations.c.id == scoped.org_id).values(triage_threshold=value))
            bump_config_version(scoped)

        scoped_run(org, unit)
        typer.echo(f"threshold set to {value}")
