#!/usr/bin/env python3
"""Tickets that fit none of an organization's categories: how many still get a category.

Five organizations, trained as the server trains them (``--prior``: its first model; otherwise the
held-out-fold calibration the background retrainer uses):

  - bike defs / bike+6 corrections: the bike-share categories of tests/data/triage (descriptions
    only, then with six of its tickets corrected by an agent); in scope: its tickets that fit a
    category; off topic: its 4 tickets that fit none, the 10 below, 40 hardware tickets and 60
    BANKING77 questions;
  - hw defs / hw+8 a category: the hardware categories (descriptions, then with their training
    tickets); off topic: the bike-share tickets, the 10 below and 60 BANKING77 questions;
  - learnloop / learnloop+6 labelled: an online-course platform (tests/data/triage), its 26
    in-scope tickets; then with the six an audit labelled through updateTicket (two corrections,
    four confirmations) taken out of the test; off topic: its 9 tickets that fit none, the 10
    below and 60 BANKING77 questions;
  - bank 10-shot: BANKING77's 77 names with 10 questions each; in scope: 400 other questions of
    train.csv; off topic: the bike-share and hardware tickets.

Cross-domain "off topic" is not all off topic (a bank's card question fits a bike-share's Billing),
so read the off-topic column as an upper bound on what should be answered. For each novelty gate
(the model's own, then each ``--gate``): in scope right / answered / all, off topic answered / all;
then, at the model's gate, how many right answers and how many off-topic answers reach 0.8 (the
confidence the AI needs to auto-resolve).

    .venv/bin/python bench/triage_offtopic.py [--prior] [--gate 0.25 --gate 0.35 ...]   # ~3 min
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

import numpy as np
from triage_coldstart import DATA, bikeshare, hardware, judged_tickets, learnloop, text_of

from telemetron.tickets.create import AUTO_RESOLVE_CONFIDENCE
from telemetron.triage import CategoryDef, LabelledTicket, build_examples, train
from telemetron.triage.classifier import _embedder_or_none

BANKING77 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "banking77" / "train.csv"
OFF_TOPIC = [  # written for the bike-share organization: questions its six categories do not cover
    "Do you operate in Seattle?",
    "Press inquiry\nI'm a journalist writing about micromobility, can I interview someone?",
    "Partnership\nOur cafe would like to partner with you for a promotion",
    "What are your opening hours for the office?",
    "Is it safe to ride at night in the city?",
    "Do you sell used bikes?",
    "Can I bring my dog?",
    "What's your privacy policy?",
    "hello?",
    "test",
]


def organizations():
    bdefs, btexts, bexp = bikeshare()
    hdefs, htexts, hexp = hardware()
    bank = list(csv.DictReader(BANKING77.open()))
    random.Random(0).shuffle(bank)
    names = sorted({r["category"] for r in bank})
    shots = {c: [r["text"] for r in bank if r["category"] == c][:10] for c in names}
    seen = {t for texts in shots.values() for t in texts}
    bank_test = [(r["text"], [r["category"]]) for r in bank[-600:] if r["text"] not in seen][:400]
    bank_off = [r["text"] for r in bank[:60]]
    htrain = [LabelledTicket(r["text"], r["category"]) for r in csv.DictReader((DATA / "hardware_train.csv").open())]
    bike_in = [(t, e) for t, e in zip(btexts, bexp) if e != ["none"]]
    bike_off = [t for t, e in zip(btexts, bexp) if e == ["none"]] + OFF_TOPIC
    hw_in = list(zip(htexts, hexp))
    corrections = [LabelledTicket(t, e[0], corrected=True) for t, e in bike_in[:6]]
    yield "bike defs", bdefs, [], bike_in, bike_off + htexts[:40] + bank_off
    yield "bike+6 corrections", bdefs, corrections, bike_in[6:], bike_off + htexts[:40] + bank_off
    yield "hw defs", hdefs, [], hw_in, btexts + OFF_TOPIC + bank_off
    yield "hw+8 a category", hdefs, htrain, hw_in, btexts + OFF_TOPIC + bank_off
    ldefs, ltexts, lexp = learnloop()
    rows = judged_tickets("learnloop")
    l_in = [(t, e) for t, e in zip(ltexts, lexp) if e != ["none"]]
    l_off = [t for t, e in zip(ltexts, lexp) if e == ["none"]] + OFF_TOPIC + bank_off
    # A confirmation through updateTicket counts as a correction, as in the product (the ticket
    # is stamped as set by an agent).
    labelled = [LabelledTicket(text_of(r), r["expected"][0], corrected=True) for r in rows if "labelledBy" in r]
    yield "learnloop", ldefs, [], l_in, l_off
    yield "learnloop+6 labelled", ldefs, labelled, [(text_of(r), r["expected"]) for r in rows
                                                    if "labelledBy" not in r and r["expected"] != ["none"]], l_off
    yield "bank 10-shot", [CategoryDef(c, c) for c in names], \
        [LabelledTicket(t, c) for c in names for t in shots[c]], bank_test, btexts + bike_off + htexts[:40]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prior", action="store_true", help="the first model's fixed calibration")
    parser.add_argument("--gate", type=float, action="append", default=[])
    args = parser.parse_args()
    embedder = _embedder_or_none(required=True)
    for name, defs, tickets, in_scope, off_topic in organizations():
        model = train(build_examples(defs, tickets), calibrate="prior" if args.prior else True)
        e_in, e_off = embedder.embed([t for t, _ in in_scope]), embedder.embed(off_topic)
        own = model.novelty_gate
        cells = []
        for gate in [own, *args.gate]:
            model.novelty_gate = gate
            p_in = model.predict([t for t, _ in in_scope], embeddings=e_in)
            p_off = model.predict(off_topic, embeddings=e_off)
            right = [p.confidence for p, (_, ok) in zip(p_in, in_scope) if p.label in ok]
            answered = sum(p.label is not None for p in p_in)
            wrong_off = [p.confidence for p in p_off if p.label is not None]
            cells.append(f"gate {gate:.2f}: {len(right)}/{answered}/{len(in_scope)}, off {len(wrong_off)}/{len(off_topic)}")
            if gate == own:
                bar = AUTO_RESOLVE_CONFIDENCE
                sure = (f"at >= {bar}: right {np.mean(np.array(right) >= bar):.0%}, "
                        f"off {np.mean(np.array(wrong_off) >= bar) if wrong_off else 0:.0%}")
        print(f"{name:19s} | " + " | ".join(cells) + f" | {sure}", flush=True)


if __name__ == "__main__":
    main()
