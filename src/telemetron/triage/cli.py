"""`telemetron triage ...`: mount with `app.add_typer(triage_cli.app, name="triage")`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Ticket categorization (offline engine).", no_args_is_help=True)


@app.callback()
def _main() -> None:
    """Ticket categorization (offline engine)."""


@app.command("eval")
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


if __name__ == "__main__":  # python -m telemetron.triage.cli
    app()
