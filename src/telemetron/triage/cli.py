"""``telemetron triage ...``: measure the categorizer offline (``eval``), and an organization's
categorizer for admins (``train``, ``status``, ``threshold``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

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

triage_app = typer.Typer(help="Ticket categorization (offline engine).", no_args_is_help=True)


@triage_app.callback()
def _main() -> None:
    """Ticket categorization (offline engine)."""


@triage_app.command("eval")
def eval_cmd(
    train_file: Path = typer.Option(..., "--train", exists=True, dir_okay=False,
                                    help="CSV with columns text,category"),
    test_file: Path = typer.Option(..., "--test", exists=True, dir_okay=False,
                                   help="CSV with columns text,category"),
    shots: Optional[int] = typer.Option(None, "--shots", min=0,
                                        help="train on N examples per category (0: "
                                             "category definitions only)"),
    threshold: Optional[float] = typer.Option(None, "--threshold", min=0.0, max=1.0,
                                              help="confidence below which the answer is none"),
    engine: str = typer.Option("auto", "--engine", help="auto | lexical"),
    categories: Optional[Path] = typer.Option(None, "--categories", exists=True,
                                              dir_okay=False,
                                              help="JSON category definitions (name, "
                                                   "description, examples)"),
    seed: int = typer.Option(0, "--seed", help="seed for --shots sampling"),
    latency_samples: int = typer.Option(300, "--latency-samples", min=0),
    save_model: Optional[Path] = typer.Option(None, "--save-model", dir_okay=False,
                                              help="write the trained model to this file"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
) -> None:
    """Train on --train, measure on --test: accuracy, macro-F1, coverage, latency, memory."""
    from . import classifier
    from .evaluate import evaluate, format_report, read_categories, read_csv

    if engine not in ("auto", "lexical"):
        raise typer.BadParameter("auto or lexical", param_hint="--engine")
    if shots == 0 and categories is None:
        raise typer.BadParameter("--shots 0 needs --categories", param_hint="--shots")
    if not as_json:
        typer.echo(classifier.engine_description(engine), err=True)
    result = evaluate(read_csv(train_file), read_csv(test_file), shots=shots,
                      threshold=threshold, engine=engine,
                      categories=read_categories(categories) if categories else None,
                      seed=seed, latency_samples=latency_samples, save_model=save_model)
    typer.echo(json.dumps(result, indent=2) if as_json else format_report(result))


@triage_app.command("train")
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


@triage_app.command("status")
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


@triage_app.command("threshold")
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


if __name__ == "__main__":  # python -m telemetron.triage.cli
    triage_app()
