#!/usr/bin/env python3
"""Notifications: how fast they leave, and how soon after createTicket's answer they arrive.

Starts ``telemetron serve`` as the README does (its in-process delivery worker on), with a
webhook endpoint pointing at a local receiver (a real HTTP server in this process), then:
  1. latency: tickets at a fixed rate; for each, the time from createTicket's response to the
     receiver seeing its event (p50/p99); and createTicket's own p50/p99 at that rate for an
     organization without a destination and for the one whose webhook is delivered meanwhile
     (runs alternated, ``--pairs``);
  2. throughput: a burst of tickets with wrk, then the notifications per second the worker
     delivers until the outbox is drained;
  3. cost on the request: wrk's tickets/s with the endpoint configured vs without (same run).

    .venv/bin/python bench/notifications.py --db sqlite --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from intake import BIN, fixed_rate, prepare_database, sh, wrk  # noqa: E402


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 refuses connections when a worker opens many at once.
    request_queue_size = 1024
    allow_reuse_address = True
    daemon_threads = True


class Receiver:
    def __init__(self, port: int) -> None:
        self.arrivals: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Slack and real endpoints do

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.monotonic()
                ticket_id = json.loads(body)["ticket"]["id"]
                with receiver.lock:
                    receiver.arrivals.setdefault(ticket_id, now)
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_healthy(port: int) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def bench(kind: str, args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="telemetron-bench-"))
    url, drop = prepare_database(kind, workdir)
    env = {**os.environ, "TELEMETRON_DATABASE_URL": url, "TELEMETRON_LOG_LEVEL": "warning"}
    receiver = Receiver(args.receiver_port)
    server = None
    try:
        sh(str(BIN / "telemetron"), "db", "upgrade", env=env, cwd=workdir)
        plain = json.loads(sh(str(BIN / "telemetron"), "org", "create", "Plain", "--category", "Connectivity", "--json", env=env, cwd=workdir).stdout)
        hooked = json.loads(sh(str(BIN / "telemetron"), "org", "create", "Hooked", "--category", "Connectivity", "--json", env=env, cwd=workdir).stdout)
        sh(str(BIN / "telemetron"), "webhook", "add", "--org", hooked["organizationId"], f"http://127.0.0.1:{args.receiver_port}/hook", env=env, cwd=workdir)
        server = subprocess.Popen([str(BIN / "telemetron"), "serve", "--port", str(args.port)], env=env, cwd=workdir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_healthy(args.port)
        base = f"http://127.0.0.1:{args.port}"
        wrk(base, plain["apiKey"], 3, 32)  # warm-up (creates the returning customers)
        wrk(base, hooked["apiKey"], 3, 32)
        warm = time.monotonic()
        last = -1
        while receiver.count != last or time.monotonic() - warm < 2:  # let the warm-up's notifications drain
            last = receiver.count
            time.sleep(1)
            print(f"  warm-up notifications delivered: {receiver.count}", file=sys.stderr, flush=True)

        # 1. latency from response to arrival, at a fixed rate; and createTicket's own latency at
        # that rate, without a destination and with the webhook delivered live, runs alternated
        receiver.arrivals.clear()
        answered: dict[str, float] = {}
        request_ms: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
        for pair in range(args.pairs):
            for label in (("without", "with") if pair % 2 == 0 else ("with", "without")):
                if label == "with":
                    run = asyncio.run(fixed_rate("127.0.0.1", args.port, hooked["apiKey"], args.rate,
                                                 args.latency_seconds, answered=answered))
                else:
                    run = asyncio.run(fixed_rate("127.0.0.1", args.port, plain["apiKey"], args.rate,
                                                 args.latency_seconds))
                request_ms[label].append((run["p50_ms"], run["p99_ms"]))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(t in receiver.arrivals for t in answered):
            time.sleep(0.1)
        delays = sorted((receiver.arrivals[t] - answered[t]) * 1000 for t in answered if t in receiver.arrivals)
        missing = sum(1 for t in answered if t not in receiver.arrivals)

        # 3. cost on the request path, same server, alternating
        without = wrk(base, plain["apiKey"], args.duration, 32)
        start_count = receiver.count
        burst_start = time.monotonic()
        with_hook = wrk(base, hooked["apiKey"], args.duration, 32)
        created = with_hook["tickets_per_s"] * args.duration

        # 2. drain: the worker delivers while and after the burst
        expected = start_count + created
        while receiver.count < expected * 0.999 and time.monotonic() - burst_start < 600:
            time.sleep(0.1)
        drain_seconds = time.monotonic() - burst_start
        delivered = receiver.count - start_count
        return {
            "database": kind,
            "latency_ms": {"rate": args.rate, "events": len(delays), "missing": missing,
                           "p50": round(statistics.median(delays), 1), "p99": round(delays[int(len(delays) * 0.99) - 1], 1)},
            # medians over the alternated runs of each run's p50 and p99, from the due time
            "create_ticket_ms_at_rate": {
                label: {"p50": round(statistics.median(p50 for p50, _ in runs), 2),
                        "p99": round(statistics.median(p99 for _, p99 in runs), 2), "runs": runs}
                for label, runs in request_ms.items()},
            "delivery_per_s": round(delivered / drain_seconds),
            "tickets_per_s_without_webhook": without["tickets_per_s"],
            "tickets_per_s_with_webhook": with_hook["tickets_per_s"],
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        receiver.server.shutdown()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--latency-seconds", type=int, default=10, help="each fixed-rate run")
    parser.add_argument("--pairs", type=int, default=3, help="fixed-rate runs without / with the webhook")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--receiver-port", type=int, default=8767)
    args = parser.parse_args()
    for kind in args.db or ["sqlite", "postgresql"]:
        result = bench(kind, args)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
