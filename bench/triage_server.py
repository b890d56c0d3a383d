#!/usr/bin/env python3
"""The categorizer inside the server: tickets without a category, at fixed rates and saturated.

Starts ``telemetron serve`` on a fresh SQLite database with the demo organization (four
categories with descriptions, AI-enabled), sends one ticket so that its model is trained, then
drives createTicket with tickets that all need the AI: open-loop at each --rate for --seconds
(latency counted from when each request was due), then saturated with wrk (32 connections).

    .venv/bin/python bench/triage_server.py --rate 100 --rate 200 --rate 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from intake import BIN, ROOT, MemorySampler, fixed_rate, sh  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, action="append")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--port", type=int, default=8768)
    parser.add_argument("--log", type=Path, default=None, help="write the server's log (level info) here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="telemetron-bench-"))
    env = {**os.environ, "TELEMETRON_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
           "TELEMETRON_LOG_LEVEL": "info" if args.log else "warning"}
    server = None
    try:
        sh(str(BIN / "telemetron"), "db", "upgrade", env=env, cwd=workdir)
        key = re.search(r"tlm_[A-Za-z0-9_-]+", sh(str(BIN / "telemetron"), "demo", env=env, cwd=workdir).stdout).group(0)
        log = open(args.log, "w") if args.log else subprocess.DEVNULL
        server = subprocess.Popen([str(BIN / "telemetron"), "serve", "--port", str(args.port)], env=env, cwd=workdir,
                                  stdout=log, stderr=log)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        started = time.perf_counter()
        asyncio.run(fixed_rate("127.0.0.1", args.port, key, 1, 1, connections=1, ai=True))
        print(f"first AI ticket (loads the encoder, trains the organization's model): {time.perf_counter() - started:.2f} s")
        memory = MemorySampler(server.pid)
        memory.start()
        for rate in args.rate or [100, 200, 300]:
            r = asyncio.run(fixed_rate("127.0.0.1", args.port, key, rate, args.seconds, connections=32, ai=True))
            print(f"AI tickets at {rate}/s: p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms, {r['requests']} requests, errors {r['errors']}")
        out = subprocess.run(["wrk", "-t2", "-c32", f"-d{args.seconds}s", "-s", str(ROOT / "bench/create_ticket_ai.lua"),
                              f"http://127.0.0.1:{args.port}"], env={**os.environ, "API_KEY": key},
                             capture_output=True, text=True, check=True).stdout
        print("saturated (wrk, 32 connections): " + " ".join(out.strip().splitlines()[-2:]))
        memory.stop.set()
        memory.join()
        print(f"peak server RSS: {memory.peak:.0f} MB")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
