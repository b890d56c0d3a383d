"""k-fold accuracy of the categorizer on BANKING77's training split (issue 3).

    nice -n 19 .venv/bin/python bench/triage_kfold.py [--folds 10] [--shots N] [--out FILE]

The bench's 20% holdout trains on 80% of train.csv; "with the full training data" is closer
to training on 90% and testing on the other 10%, ten times over (every row is tested once,
by a model that never saw it). Folds are stratified with a fixed seed. Each fold trains with
``telemetron.triage.train`` exactly as ``triage eval`` does (calibration included). The
texts are embedded once for all folds: the encoder quantizes per token, so a text's vector
does not depend on the texts embedded with it, and these are the vectors ``triage eval``
would compute. One thread (OMP_NUM_THREADS=1, TELEMETRON_TRIAGE_THREADS=1).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import defaultdict
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TELEMETRON_TRIAGE_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from telemetron.triage import Example, train  # noqa: E402
from telemetron.triage.embedder import get_embedder  # noqa: E402
from telemetron.triage.evaluate import read_csv, sample_shots  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"


def folds(rows, k: int, seed: int) -> list[int]:
    by_label = defaultdict(list)
    for i, (_, label) in enumerate(rows):
        by_label[label].append(i)
    fold_of = [0] * len(rows)
    for label in sorted(by_label):
        group = by_label[label][:]
        random.Random(f"{seed}:{label}").shuffle(group)
        for j, i in enumerate(group):
            fold_of[i] = j % k
    return fold_of


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--only", type=int, default=None, help="run only the first N folds")
    ap.add_argument("--shots", type=int, default=None, help="train on N per category of each fold's 90%%")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = read_csv(args.data)
    texts = [t for t, _ in rows]
    t0 = time.perf_counter()
    vectors = get_embedder().embed(texts)
    print(f"{len(rows)} rows embedded in {time.perf_counter() - t0:.0f} s", flush=True)
    fold_of = folds(rows, args.folds, args.seed)
    results = []
    for f in range(args.only or args.folds):
        train_idx = [i for i in range(len(rows)) if fold_of[i] != f]
        test_idx = [i for i in range(len(rows)) if fold_of[i] == f]
        if args.shots:
            chosen = sample_shots([(i, rows[i][1]) for i in train_idx], args.shots, args.seed)
            train_idx = [i for i, _ in chosen]
        t0 = time.perf_counter()
        model = train([Example(texts[i], rows[i][1]) for i in train_idx], embeddings=vectors[train_idx])
        train_s = time.perf_counter() - t0
        preds = model.predict([texts[i] for i in test_idx], embeddings=vectors[test_idx])
        correct = sum(p.best == rows[i][1] for p, i in zip(preds, test_idx))
        results.append({"fold": f, "train": len(train_idx), "test": len(test_idx), "correct": correct,
                        "accuracy": round(correct / len(test_idx), 4), "train_s": round(train_s, 1),
                        "alpha": model.alpha})
        print(json.dumps(results[-1]), flush=True)
    accs = np.array([r["accuracy"] for r in results])
    summary = {"folds": args.folds, "run": len(results), "shots": args.shots,
               "pooled_accuracy": round(sum(r["correct"] for r in results) / sum(r["test"] for r in results), 4),
               "mean": round(float(accs.mean()), 4), "std": round(float(accs.std(ddof=1)), 4) if len(accs) > 1 else None,
               "min": float(accs.min()), "max": float(accs.max())}
    print(json.dumps(summary), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "folds": results}, indent=2))


if __name__ == "__main__":
    main()
