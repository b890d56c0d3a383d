#!/usr/bin/env python3
"""A new organization's first tickets (issue 3's "done when"): the categorizer trained from the
categories' definitions alone, as the server trains an organization's first model.

Two sets, both in tests/data/triage/:
  - bikeshare: six categories with a description each (example phrases for three), and 27
    tickets written as customers would, each with the categories a human judge accepts
    ("none": it fits no category). Made by an audit of session 5, through the API.
  - hardware: eight categories with a description each, and the 96 test tickets.
  - learnloop: an online-course platform's six categories with a description each, and 35 tickets
    (9 fit no category), written and judged by an audit of session 6 through the API.

For each set: how many answers (at the threshold) the judge accepts, how often the best
candidate is right, and how many tickets get an answer. ``--calibrate`` uses the held-out-fold
calibration (what the background retrainer does once tickets arrive) instead of the first
model's fixed prior.

    .venv/bin/python bench/triage_coldstart.py [--threshold 0.5] [--calibrate]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from telemetron.triage import CategoryDef, build_examples, ticket_text, train

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "triage"


def definitions(path: Path) -> list[CategoryDef]:
    return [CategoryDef(c["name"], c["name"], c.get("description", ""), c.get("examples", []))
            for c in json.loads(path.read_text())]


def judged_tickets(name: str) -> list[dict]:
    """``{name}_tickets.jsonl``: tickets as sent to createTicket, with the categories a judge accepts."""
    return [json.loads(line) for line in (DATA / f"{name}_tickets.jsonl").read_text().splitlines() if line]


def text_of(row: dict) -> str:
    t = row["ticket"]
    return ticket_text(t.get("title"), t.get("description"),
                       [m["content"] for m in t.get("messages", []) if m["role"] == "customer"])


def judged(name: str) -> tuple[list[CategoryDef], list[str], list[list[str]]]:
    rows = judged_tickets(name)
    return definitions(DATA / f"{name}_categories.json"), [text_of(r) for r in rows], [r["expected"] for r in rows]


def bikeshare() -> tuple[list[CategoryDef], list[str], list[list[str]]]:
    return judged("bikeshare")


def learnloop() -> tuple[list[CategoryDef], list[str], list[list[str]]]:
    return judged("learnloop")


def hardware() -> tuple[list[CategoryDef], list[str], list[list[str]]]:
    rows = list(csv.DictReader((DATA / "hardware_test.csv").open()))
    return definitions(DATA / "hardware_categories.json"), [r["text"] for r in rows], [[r["category"]] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--calibrate", action="store_true")
    args = parser.parse_args()
    for name, load in (("bikeshare", bikeshare), ("hardware", hardware), ("learnloop", learnloop)):
        defs, texts, expected = load()
        model = train(build_examples(defs), calibrate=True if args.calibrate else "prior")
        preds = model.predict(texts, threshold=args.threshold)
        accepted = sum((p.label or "none") in ok for p, ok in zip(preds, expected))
        in_scope = [(p, ok) for p, ok in zip(preds, expected) if ok != ["none"]]
        best = sum(p.best in ok for p, ok in in_scope)
        answered = sum(1 for p in preds if p.label)
        print(f"{name:10s} ({model.trained_engine}): answers accepted {accepted}/{len(texts)}, "
              f"best candidate right {best}/{len(in_scope)} in scope, answered {answered}/{len(texts)}")


if __name__ == "__main__":
    main()
