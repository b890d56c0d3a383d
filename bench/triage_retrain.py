#!/usr/bin/env python3
"""Retraining a BANKING77-size organization inside ``telemetron serve``: does the server notice?

Starts ``telemetron serve`` on a fresh SQLite database, gives an organization BANKING77's 77
categories (names only) and --tickets labelled tickets from train.csv (createTicket with the
category), then sends one ticket without a category: its model is trained in the server from
the categories and the newest 200 tickets, and the organization is marked for retraining on all
of them, which the server's retrainer does in a child process (``triage/trainer.py``) within 30
s. Meanwhile AI tickets arrive at --rate per second (open loop); the server's RSS and the
trainer's are sampled apart.

    nice -n 19 .venv/bin/python bench/triage_retrain.py [--tickets 8005] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from intake import BIN, fixed_rate, rss_mb, sh  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"


class Sampler(threading.Thread):
    """Peak RSS of the server process alone, and of its children (the trainer) apart."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop = pid, threading.Event()
        self.server_peak = self.child_peak = 0.0
        self.child_pids: set[int] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            self.server_peak = max(self.server_peak, rss_mb([self.pid]))
            children = [int(p) for p in subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True,
                                                       text=True).stdout.split()]
            self.child_pids.update(children)
            if children:
                self.child_peak = max(self.child_peak, rss_mb(children))
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=8005)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--port", type=int, default=8769)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args()
    with open(DATA, newline="", encoding="utf-8") as f:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(f)][: args.tickets]
    workdir = Path(tempfile.mkdtemp(prefix="telemetron-bench-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    env = {**os.environ, "TELEMETRON_DATABASE_URL": db_url, "TELEMETRON_LOG_LEVEL": "warning"}
    server = None
    try:
        sh(str(BIN / "telemetron"), "db", "upgrade", env=env, cwd=workdir)
        created = json.loads(sh(str(BIN / "telemetron"), "org", "create", "Bank", "--json", env=env, cwd=workdir).stdout)
        org, key = created["organizationId"], created["apiKey"]
        from telemetron.categories.service import add_category
        from telemetron.db.engine import Database
        from telemetron.db.scoped import Scoped

        db = Database(db_url)
        db.run_sync(lambda conn: [add_category(Scoped(db, conn, org), name=name)
                                  for name in sorted({c for _, c in rows})])
        server = subprocess.Popen([str(BIN / "telemetron"), "serve", "--port", str(args.port)], env=env, cwd=workdir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        t0 = time.perf_counter()
        local = threading.local()

        def send(i: int) -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=30)
            text, category = rows[i]
            r = local.client.post("/api/ext-v1/ticket/createTicket",
                                  json={"title": text[:255], "customerEmail": f"c{i % 500}@example.com",
                                        "category": category})
            r.raise_for_status()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(len(rows))))
        print(f"{len(rows)} labelled tickets sent in {time.perf_counter() - t0:.0f} s", flush=True)
        sampler = Sampler(server.pid)
        sampler.start()
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=120) as client:
            body = client.post("/api/ext-v1/ticket/createTicket",
                               json={"title": "I am still waiting on my card", "customerEmail": "x@example.com"}).json()
        print(f"first AI ticket (encoder load + first model, 200 tickets): {time.perf_counter() - t0:.2f} s, "
              f"category {body.get('category')}", flush=True)

        def version() -> tuple[int, int]:
            return db.run_sync(lambda conn: tuple(conn.exec_driver_sql(
                f"select version, labelled_tickets from triage_models where organization_id = '{org}'").one()))

        before = version()
        print(f"model v{before[0]} ({before[1]} labelled tickets); waiting for the retrainer", flush=True)
        started = time.perf_counter()
        results = []
        while time.perf_counter() - started < args.timeout:
            r = asyncio.run(fixed_rate("127.0.0.1", args.port, key, args.rate, 10, connections=16, ai=True))
            now = version()
            training = bool(sampler.child_pids)
            results.append((round(time.perf_counter() - started), r, training, now))
            print(f"  t={results[-1][0]:>4} s  AI tickets at {args.rate}/s: p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms "
                  f"errors {r['errors']}; trainer seen: {training}; server RSS peak {sampler.server_peak:.0f} MB, "
                  f"trainer peak {sampler.child_peak:.0f} MB; model v{now[0]} ({now[1]} tickets)", flush=True)
            if now[0] > before[0]:
                break
        sampler.stop.set()
        sampler.join()
        print(f"retrained: v{before[0]} -> v{version()[0]} ({version()[1]} labelled tickets) in "
              f"{time.perf_counter() - started:.0f} s after the first ticket; server peak RSS "
              f"{sampler.server_peak:.0f} MB; trainer process(es) {sorted(sampler.child_pids)} peak "
              f"{sampler.child_peak:.0f} MB", flush=True)
        db.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
