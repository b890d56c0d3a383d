"""`telemetron triage eval` through the triage group's Typer app."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from telemetron.triage.cli import triage_app as app
from tests.support.triage import TEST, TRAIN, needs_embedding


@pytest.fixture()
def csvs(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    with open(train, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "category"])
        w.writerows((t, label) for label, texts in TRAIN.items() for t in texts)
    with open(test, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "category"])
        w.writerows(TEST)
    cats = tmp_path / "cats.json"
    cats.write_text(json.dumps([
        {"name": "battery", "description": "battery drains, will not charge, no power"},
        {"name": "connectivity", "description": "wifi, bluetooth, network connection"},
        {"name": "billing", "description": "invoices, charges, subscription, payment"},
    ]))
    return train, test, cats


def test_eval_prints_the_metrics(csvs):
    train, test, _ = csvs
    r = CliRunner().invoke(app, ["eval", "--train", str(train), "--test", str(test),
                                 "--engine", "lexical", "--latency-samples", "5"])
    assert r.exit_code == 0, r.output
    for word in ("accuracy", "macro-F1", "coverage", "accuracy answered", "p50", "p99",
                 "tickets/s", "RSS", "engine", "lexical"):
        assert word in r.output


def test_eval_json(csvs):
    train, test, _ = csvs
    r = CliRunner().invoke(app, ["eval", "--train", str(train), "--test", str(test), "--engine",
                                 "lexical", "--json", "--shots", "3", "--threshold", "0.4"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["engine"] == "lexical" and data["threshold"] == 0.4
    assert data["train_examples"] == 9 and data["test_tickets"] == len(TEST)
    for key in ("accuracy", "macro_f1", "coverage", "accuracy_covered", "latency_ms_p50",
                "latency_ms_p99", "batch_tickets_per_s", "rss_mb", "model_load_s"):
        assert key in data
    assert 0.0 <= data["accuracy"] <= 1.0


def test_eval_definitions_only(csvs):
    train, test, cats = csvs
    r = CliRunner().invoke(app, ["eval", "--train", str(train), "--test", str(test), "--engine",
                                 "lexical", "--json", "--shots", "0", "--categories", str(cats)])
    assert r.exit_code == 0, r.output
    # Three definitions, and the clauses of those that list several things.
    from telemetron.triage import CategoryDef, build_examples

    defs = [CategoryDef(c["name"], c["name"], c.get("description", "")) for c in json.loads(cats.read_text())]
    assert json.loads(r.output)["train_examples"] == len(build_examples(defs)) > 3


def test_shots_zero_needs_categories(csvs):
    train, test, _ = csvs
    r = CliRunner().invoke(app, ["eval", "--train", str(train), "--test", str(test),
                                 "--shots", "0"])
    assert r.exit_code != 0


@needs_embedding
def test_eval_auto_uses_embeddings(csvs):
    train, test, _ = csvs
    r = CliRunner().invoke(app, ["eval", "--train", str(train), "--test", str(test), "--json",
                                 "--latency-samples", "5"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["engine"] == "embedding+lexical" and data["accuracy"] >= 0.8
