#!/usr/bin/env python3
"""Soak: mixed load at half the measured capacity for a long while, on PostgreSQL with 2 API processes.

Laid out as docs/deploying.md (API processes without the in-process worker, a ``telemetron
worker`` beside them), on a fresh PostgreSQL database, with Slack and a webhook pointing at a
local receiver (bench/ok_receiver.py), so that every new ticket makes two deliveries:
  1. capacity: a closed loop of --connections clients sending the mix as fast as answered, for
     --capacity-seconds; its requests/s is the capacity;
  2. soak: the same mix, open loop, at half that rate, for --seconds (600: ten minutes);
while the API processes' resident memory is sampled every 10 s. Then the outbox must drain.

The mix: 40% createTicket (1 in 10 from a new customer), 30% getTicket, 15% queryTickets (a
filter and a page), 15% addMessage as an agent, on tickets created during the run.
PostgreSQL's autovacuum keeps the planner's statistics current as tables grow; where it is off
(this machine's CI configuration, /etc/postgresql/15/main/conf.d/90-ci.conf), the script runs
ANALYZE every 60 s in its place (--no-analyze to run without: see bench/README.md for what
happens then).
Passes when: no 5xx, every request answered (none timed out, none left unsent because
IN_FLIGHT were waiting), the API processes' RSS at the end within 10% of their
RSS after the first minute, and the outbox empty of pending messages within 60 s of the end.

    .venv/bin/python bench/soak.py [--seconds 600] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import BIN, ROOT, prepare_database, rss_mb, server_pids, sh

MIX = [("create", 40), ("get", 30), ("query", 15), ("reply", 15)]


class Load:
    """The mix, over one aiohttp session; counts statuses and keeps latencies per operation."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.headers = base + "/api/ext-v1/ticket", {"x-api-key": key}
        self.tickets: list[str] = []
        self.statuses: Counter = Counter()
        self.latencies: dict[str, list[float]] = {op: [] for op, _ in MIX}
        self.errors = 0  # no answer: a connection error or the client's 30 s timeout
        self.not_sent = 0
        self.window: list[float] = []
        self.ops = [op for op, weight in MIX for _ in range(weight)]

    def request(self, n: int):
        op = self.ops[n % len(self.ops)] if self.tickets else "create"
        if op == "create":
            email = f"new-{uuid.uuid4().hex[:8]}@example.com" if n % 10 == 0 else f"c{n % 500}@example.com"
            return op, "POST", "/createTicket", {"title": f"Soak {n}", "customerEmail": email, "priority": "high",
                                                 "category": "Connectivity",
                                                 "messages": [{"role": "customer", "content": "It stopped working"}]}
        ticket = random.choice(self.tickets)
        if op == "get":
            return op, "GET", f"/getTicket/{ticket}", None
        if op == "query":
            return op, "POST", "/queryTickets", {"status": ["open", "in_progress"], "limit": 20}
        return op, "POST", "/addMessage", {"ticketId": ticket, "role": "agent", "content": f"Looking into it ({n})"}

    async def send(self, session: aiohttp.ClientSession, n: int) -> None:
        op, method, path, body = self.request(n)
        started = time.perf_counter()
        try:
            async with session.request(method, self.base + path, json=body, headers=self.headers) as response:
                payload = await response.read()
                self.statuses[response.status] += 1
                if op == "create" and response.status == 200:
                    self.tickets.append(json.loads(payload)["ticketId"])
                    del self.tickets[:-5000]
        except (TimeoutError, aiohttp.ClientError):
            self.errors += 1
        self.latencies[op].append((time.perf_counter() - started) * 1000)
        self.window.append(self.latencies[op][-1])

    def window_p99(self) -> float | None:
        """p99 of the requests answered since the last call (ms)."""
        window, self.window = sorted(self.window), []
        return round(window[int(len(window) * 0.99) - 1], 1) if window else None


async def closed_loop(load: Load, connections: int, seconds: float) -> float:
    """Requests/s answered with ``connections`` clients each sending the next as soon as answered."""
    deadline, done = time.monotonic() + seconds, 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def client(c: int) -> None:
            nonlocal done
            n = c
            while time.monotonic() < deadline:
                await load.send(session, n)
                done, n = done + 1, n + connections
        started = time.monotonic()
        await asyncio.gather(*(client(c) for c in range(connections)))
    return done / (time.monotonic() - started)


IN_FLIGHT = 256


async def open_loop(load: Load, rate: float, seconds: float, sample) -> None:
    """Request n is sent at start + n/rate whatever became of the others; one due while
    IN_FLIGHT are unanswered is not sent, and counted (``load.not_sent``): the server fell behind."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                     connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as session:
        start, tasks, n = time.perf_counter(), set(), 0
        next_sample = 0.0
        while (elapsed := time.perf_counter() - start) < seconds:
            while n < elapsed * rate:
                n += 1
                if len(tasks) >= IN_FLIGHT:
                    load.not_sent += 1
                    continue
                task = asyncio.create_task(load.send(session, n))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if elapsed >= next_sample:
                sample(elapsed)
                next_sample += 10
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
        sample(time.perf_counter() - start)


def pending_outbox(url: str) -> int:
    from sqlalchemy import create_engine, text

    from telemetron.db.engine import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        n = conn.execute(text("select count(*) from outbox where status = 'pending'")).scalar_one()
    engine.dispose()
    return n


def autovacuum_is_off(url: str) -> bool:
    from sqlalchemy import create_engine, text

    from telemetron.db.engine import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        off = conn.execute(text("show autovacuum")).scalar_one() == "off"
    engine.dispose()
    return off


class Analyzer:
    """ANALYZE every ``every`` seconds, in a thread: what autovacuum would do, where it is off."""

    def __init__(self, url: str, every: float) -> None:
        import threading

        self.url, self.every, self.stop, self.runs = url, every, threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from sqlalchemy import create_engine, text

        from telemetron.db.engine import normalize_url

        engine = create_engine(normalize_url(self.url), isolation_level="AUTOCOMMIT")
        while not self.stop.wait(self.every):
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
            self.runs += 1
        engine.dispose()


def wait_http(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} never answered")


def soak(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="telemetron-soak-"))
    url, drop = prepare_database("postgresql", workdir)
    env = {**os.environ, "TELEMETRON_DATABASE_URL": url, "TELEMETRON_LOG_LEVEL": "warning"}
    telemetron = str(BIN / "telemetron")
    processes: list[subprocess.Popen] = []
    try:
        sh(telemetron, "db", "upgrade", env=env, cwd=workdir)
        org = json.loads(sh(telemetron, "org", "create", "Soak", "--category", "Connectivity", "--json",
                            env=env, cwd=workdir).stdout)
        receiver = f"http://127.0.0.1:{args.port + 1}"
        processes.append(subprocess.Popen([sys.executable, str(ROOT / "bench/ok_receiver.py"), str(args.port + 1)]))
        sh(telemetron, "slack", "set", "--org", org["organizationId"], "--webhook-url", receiver + "/slack", env=env)
        sh(telemetron, "webhook", "add", "--org", org["organizationId"], receiver + "/hook", env=env)
        api = subprocess.Popen([telemetron, "serve", "--port", str(args.port), "--workers", "2"],
                               env={**env, "TELEMETRON_RUN_WORKER": "false"}, cwd=workdir)
        processes.append(api)
        processes.append(subprocess.Popen([telemetron, "worker", "--name", "soak"], env=env, cwd=workdir))
        base = f"http://127.0.0.1:{args.port}"
        wait_http(base + "/healthz")

        analyzer = Analyzer(url, 60) if args.analyze and autovacuum_is_off(url) else None
        if analyzer is not None:
            analyzer.thread.start()
        capacity = asyncio.run(closed_loop(Load(base, org["apiKey"]), args.connections, args.capacity_seconds))
        rate = capacity / 2
        print(f"capacity {capacity:.0f} requests/s; soaking at {rate:.0f}/s for {args.seconds} s", flush=True)
        load, rss, p99s = Load(base, org["apiKey"]), [], []

        def sample(elapsed: float) -> None:
            rss.append((round(elapsed), round(rss_mb(server_pids(api.pid)), 1)))
            p99s.append((round(elapsed), load.window_p99()))
            print(f"  {elapsed:5.0f} s  API RSS {rss[-1][1]} MB  p99 {p99s[-1][1]} ms  statuses {dict(load.statuses)}  "
                  f"no answer {load.errors}  not sent {load.not_sent}", flush=True)

        asyncio.run(open_loop(load, rate, args.seconds, sample))
        if analyzer is not None:
            analyzer.stop.set()
        drained_after = None
        for waited in range(61):
            if pending_outbox(url) == 0:
                drained_after = waited
                break
            time.sleep(1)
        baseline = next(mb for t, mb in rss if t >= 60) if args.seconds >= 120 else rss[0][1]
        return {
            "capacity_rps": round(capacity), "rate_rps": round(rate), "seconds": args.seconds,
            "requests": sum(load.statuses.values()), "statuses": dict(load.statuses), "transport_errors": load.errors, "not_sent": load.not_sent,
            "p50_ms": {op: round(statistics.median(v), 1) for op, v in load.latencies.items() if v},
            "p99_ms": {op: round(sorted(v)[int(len(v) * 0.99) - 1], 1) for op, v in load.latencies.items() if v},
            "rss_mb_after_1_min": baseline, "rss_mb_end": rss[-1][1], "rss_mb_max": max(mb for _, mb in rss),
            "rss_growth_pct": round((rss[-1][1] - baseline) * 100 / baseline, 1),
            "outbox_pending_at_end": pending_outbox(url), "outbox_drained_after_s": drained_after,
            "analyze_runs": analyzer.runs if analyzer is not None else None, "rss_samples": rss, "p99_ms_per_10_s": p99s,
        }
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--capacity-seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=8775)
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="no ANALYZE in autovacuum's place when it is off")
    result = soak(parser.parse_args())
    print(json.dumps(result))
    five_xx = sum(n for status, n in result["statuses"].items() if status >= 500)
    ok = (five_xx == 0 and result["transport_errors"] == 0 and result["not_sent"] == 0
          and abs(result["rss_growth_pct"]) <= 10 and result["outbox_pending_at_end"] == 0)
    print(f"{'PASS' if ok else 'FAIL'}: {five_xx} 5xx, {result['transport_errors']} unanswered, "
          f"{result['not_sent']} not sent (server behind), RSS "
          f"{result['rss_mb_after_1_min']} -> {result['rss_mb_end']} MB ({result['rss_growth_pct']:+}%), outbox "
          f"{'drained after ' + str(result['outbox_drained_after_s']) + ' s' if result['outbox_drained_after_s'] is not None else 'NOT drained'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
