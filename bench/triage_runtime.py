#!/usr/bin/env python3
"""The server's categorizer alone (``triage.runtime.Categorizer``), without HTTP or a database.

The demo organization's model (four categories with descriptions); requests arrive open-loop
at each --rate for --seconds (latency counts from when each was due) and go through
``Categorizer.predict`` exactly as createTicket's do: batched across the requests waiting, in
the two predictor threads that share the encoder. Each run is a fresh process; with --ab, the
same rates with the encoder's products in float32 (TELEMETRON_TRIAGE_INT8_MATMUL=false) too.

    nice -n 19 .venv/bin/python bench/triage_runtime.py --rate 100 --rate 200 --rate 300 --rate 400 --ab
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

CATEGORIES = {
    "Connectivity": "WiFi, Bluetooth, pairing and network connection problems",
    "Battery": "Battery life, charging, power and overheating while charging",
    "Billing": "Invoices, payments, refunds, subscriptions and charges",
    "Password reset": "Forgotten passwords and login codes",
}
TITLES = [
    "My phone keeps dropping the WiFi connection", "Bluetooth pairing fails with my headphones",
    "The battery is empty after two hours", "I got charged twice on this month's invoice",
    "I want a refund for my subscription", "The device gets hot while charging",
]


def run(rates: list[int], seconds: int) -> list[dict]:
    import numpy as np

    from telemetron.triage import Example, train, warm_up
    from telemetron.triage.runtime import Categorizer, Request

    warm_up()
    model = train([Example(f"{k}: {v}", k) for k, v in CATEGORIES.items()])
    categorizer = Categorizer(db=None)
    categorizer._models["org"] = (1, model)  # as if loaded from the database
    allowed = frozenset(CATEGORIES)

    async def at(rate: int) -> dict:
        latencies: list[float] = []

        async def one(i: int, due: float) -> None:
            await categorizer.predict(Request("org", 1, None, allowed, f"{TITLES[i % len(TITLES)]} (case {i})"))
            latencies.append(time.perf_counter() - due)

        start = time.perf_counter()
        tasks = []
        for i in range(rate * seconds):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        return {"rate": rate, "done_per_s": round(len(latencies) / elapsed), "p50_ms": round(float(np.percentile(latencies, 50)) * 1e3, 1),
                "p99_ms": round(float(np.percentile(latencies, 99)) * 1e3, 1)}

    try:
        return [asyncio.run(at(rate)) for rate in rates]
    finally:
        categorizer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, action="append")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--ab", action="store_true", help="also run with float32 products")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rates = args.rate or [100, 200, 300, 400]
    if args.child:
        print(json.dumps(run(rates, args.seconds)))
        return
    variants = [("int8 products", "true")] + ([("float32 products", "false")] if args.ab else [])
    for name, flag in variants:
        cmd = [sys.executable, __file__, "--child", "--seconds", str(args.seconds), *[f"--rate={r}" for r in rates]]
        out = subprocess.run(cmd, env={**os.environ, "TELEMETRON_TRIAGE_INT8_MATMUL": flag}, check=True,
                             capture_output=True, text=True).stdout
        for r in json.loads(out.strip().splitlines()[-1]):
            print(f"{name}: {r['rate']}/s asked, {r['done_per_s']}/s done, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms",
                  flush=True)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
