#!/usr/bin/env python3
"""createTicket under load: throughput and latency on SQLite and PostgreSQL, and server memory.

Starts the server the way the README does (``telemetron db upgrade``, ``telemetron org create``,
``telemetron serve``) on a fresh database, then:
  1. a saturating load with wrk (Debian package ``wrk``): 32 connections for --duration seconds,
     10% of tickets from new customers, the rest from 1,000 returning ones, an existing category;
  2. an open-loop load at a fixed --rate requests/s (an asyncio client below: wrk cannot hold a
     rate), to measure latency when the server is not saturated;
while sampling the server's resident memory.

    .venv/bin/python bench/intake.py --db sqlite --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# PRECISE_TIMER=1: the fixed-rate schedule kept by a thread (see fixed_rate), not asyncio's ms timers.
PRECISE_TIMER = os.environ.get("PRECISE_TIMER") == "1"


def sh(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True, **kw)


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (from /proc), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total / ticks


def postgres_backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench database (its connections' backends)."""
    from sqlalchemy import create_engine, text

    from telemetron.db.engine import normalize_url

    engine = create_engine(normalize_url(POSTGRES_ADMIN))
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                            {"d": url.rsplit("/", 1)[1]}).scalars().all()
    engine.dispose()
    return list(pids)


def server_pids(root_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(root_pid)], capture_output=True, text=True).stdout.split()
    return [root_pid, *map(int, out)]


class MemorySampler(threading.Thread):
    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root_pid, self.peak, self.stop = root_pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(server_pids(self.root_pid)))
            time.sleep(0.25)


def wrk(url: str, key: str, seconds: int, connections: int) -> dict:
    env = {**os.environ, "API_KEY": key, "CATEGORY": "Connectivity"}
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(ROOT / "bench/create_ticket.lua"), url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    rate = float(re.search(r"tickets/s: (\d+)", out).group(1))
    p50, p99, errors, non2xx = re.search(r"p50: ([\d.]+) ms  p99: ([\d.]+) ms  errors: (\d+) \(non-2xx (\d+)\)", out).groups()
    return {"tickets_per_s": rate, "p50_ms": float(p50), "p99_ms": float(p99), "errors": int(errors)}


AI_TITLES = [
    "My phone keeps dropping the WiFi connection", "Bluetooth pairing fails with my headphones",
    "The battery is empty after two hours", "I got charged twice on this month's invoice",
    "I want a refund for my subscription", "The device gets hot while charging",
]


async def fixed_rate(host: str, port: int, key: str, rate: int, seconds: int, connections: int = 8,
                     answered: dict | None = None, ai: bool = False) -> dict:
    """Open loop: request i is due at start + i/rate, whatever happened to earlier ones.

    With ``answered``, records ticketId -> time.monotonic() of each response.
    """
    latencies: list[float] = []
    from_release: list[float] = []
    errors = 0
    total = rate * seconds
    due = asyncio.Queue()
    start = time.perf_counter() + 0.2

    async def producer():
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait((start + i / rate, time.perf_counter()))
        for _ in range(connections):
            due.put_nowait(None)

    loop = asyncio.get_running_loop()

    def precise_producer():
        """The same schedule kept by a thread's ``time.sleep`` (nanosleep: ~0.1 ms late, not up to
        1 ms), each request handed to the loop with ``call_soon_threadsafe``, which wakes it at once."""
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            loop.call_soon_threadsafe(due.put_nowait, (start + i / rate, time.perf_counter()))
        for _ in range(connections):
            loop.call_soon_threadsafe(due.put_nowait, None)

    if PRECISE_TIMER:
        producer = functools.partial(asyncio.to_thread, precise_producer)  # noqa: F811

    async def worker(n: int):
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        i = 0
        while (item := await due.get()) is not None:
            scheduled, released = item
            i += 1
            email = f"new-{n}-{i}-{uuid.uuid4().hex[:6]}@example.com" if i % 10 == 0 else f"customer{(n * 131 + i) % 1000 + 1}@example.com"
            if ai:  # no category: every ticket goes to the categorizer
                body = json.dumps({"title": f"{AI_TITLES[i % len(AI_TITLES)]} (case {n}-{i})", "customerEmail": email}).encode()
            else:
                body = json.dumps({"title": "Device not connecting to WiFi", "description": "fails after update", "priority": "high", "customerEmail": email, "category": "Connectivity"}).encode()
            writer.write(
                b"POST /api/ext-v1/ticket/createTicket HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                + f"x-api-key: {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            )
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await reader.readexactly(length)
            if answered is not None and status == 200:
                answered[json.loads(payload)["ticketId"]] = time.monotonic()
            # Latency from when the request was due: queueing behind a slow one counts.
            done = time.perf_counter()
            latencies.append((done - scheduled) * 1000)
            # The same from when our timer released it: asyncio's timers wake up to 1 ms late (epoll
            # takes whole milliseconds), which is the client's lateness, not the server's.
            from_release.append((done - max(scheduled, released)) * 1000)
            errors += status != 200
        writer.close()

    await asyncio.gather(producer(), *(worker(n) for n in range(connections)))
    latencies.sort()
    from_release.sort()
    return {
        "rate": rate,
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "timer_corrected_p50_ms": round(statistics.median(from_release), 2),
        "timer_corrected_p99_ms": round(from_release[int(len(from_release) * 0.99) - 1], 2),
        "errors": errors,
    }


def prepare_database(kind: str, workdir: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, text

    from telemetron.db.engine import normalize_url

    name = f"telemetron_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(POSTGRES_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def change_schema(url: str, script: Path) -> None:
    """Run a bench/schemas script's statements (``;``-separated, ``--`` comments) on the bench database."""
    from sqlalchemy import create_engine

    from telemetron.db.engine import normalize_url

    lines = [line for line in script.read_text().splitlines() if not line.lstrip().startswith("--")]
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        for statement in filter(None, (s.strip() for s in "\n".join(lines).split(";"))):
            conn.exec_driver_sql(statement)
    engine.dispose()


def change_schemas(url: str, name: str, kind: str) -> None:
    """bench/schemas/NAME.sql (a misspelt NAME fails here), then NAME.<database>.sql if there is one."""
    change_schema(url, ROOT / "bench/schemas" / f"{name}.sql")
    if (ROOT / "bench/schemas" / f"{name}.{kind}.sql").exists():
        change_schema(url, ROOT / "bench/schemas" / f"{name}.{kind}.sql")


def bench(kind: str, args, variant_env: dict | None = None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="telemetron-bench-"))
    url, drop = prepare_database(kind, workdir)
    variant_env = dict(variant_env or {})
    schema = variant_env.pop("BENCH_SCHEMA", "")  # bench/schemas/NAME.sql, then NAME.<database>.sql
    env = {**os.environ, "TELEMETRON_DATABASE_URL": url, "TELEMETRON_LOG_LEVEL": "warning", **variant_env}
    # One key sends everything here: the default per-key quota would answer 429 to most of it. The
    # limiter still runs, at a quota the load never reaches (its cost: --variant off:TELEMETRON_RATE_LIMIT=off).
    env.setdefault("TELEMETRON_RATE_LIMIT", "1000000/second")
    port = args.port
    server = None
    try:
        sh(str(BIN / "telemetron"), "db", "upgrade", env=env, cwd=workdir)
        for name in filter(None, schema.split("+")):
            change_schemas(url, name, kind)
        org = json.loads(sh(str(BIN / "telemetron"), "org", "create", "Bench", "--category", "Connectivity", "--json", env=env, cwd=workdir).stdout)
        cmd = [str(BIN / "telemetron"), "serve", "--port", str(port)]
        if args.workers > 1 and kind != "sqlite":
            cmd += ["--workers", str(args.workers)]
        server = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(600):  # up to a minute: a busy host starts the server slowly
            try:
                import urllib.request

                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        wrk(base, org["apiKey"], 5, args.connections)  # warm-up: creates the 1,000 returning customers
        memory = MemorySampler(server.pid)
        memory.start()
        cpu_before = cpu_seconds(server_pids(server.pid))
        backends = postgres_backends(url) if kind == "postgresql" else []
        db_cpu_before = cpu_seconds(backends)
        saturated = wrk(base, org["apiKey"], args.duration, args.connections)
        # Server CPU per ticket: steadier than tickets/s on a shared machine, and what the
        # execution path's overheads show up in.
        cpu = cpu_seconds(server_pids(server.pid)) - cpu_before
        tickets = saturated["tickets_per_s"] * args.duration
        saturated["server_cpu_ms_per_ticket"] = round(cpu * 1000 / tickets, 3)
        if backends:  # PostgreSQL's own share (its connections are pooled: the same processes throughout)
            saturated["postgres_cpu_ms_per_ticket"] = round((cpu_seconds(backends) - db_cpu_before) * 1000 / tickets, 3)
        steady = asyncio.run(fixed_rate("127.0.0.1", port, org["apiKey"], args.rate, args.steady_duration))
        memory.stop.set()
        memory.join()
        return {"database": kind, "workers": args.workers if kind != "sqlite" else 1, "saturated": saturated,
                "fixed_rate": steady, "peak_rss_mb": round(memory.peak, 1)}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"], help="repeatable; default both")
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--steady-duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="server processes on PostgreSQL")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL:NAME=VALUE[,NAME=VALUE]",
                        help="repeatable: each database is run once per variant, with these server settings "
                             "(e.g. off:TELEMETRON_RATE_LIMIT=off), variants alternated; BENCH_SCHEMA=NAME[+NAME] runs "
                             "bench/schemas/NAME.sql and NAME.<database>.sql (if there is one) after the migrations")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole set this many times")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    variants = [_variant(text) for text in args.variant] or [("", {})]
    runs = [(kind, v) for _ in range(args.repeat) for kind in args.db or ["sqlite", "postgresql"] for v in variants]
    for kind, (label, variant_env) in runs:
        result = bench(kind, args, variant_env)
        result["variant"] = label
        s, f = result["saturated"], result["fixed_rate"]
        print(
            f"{kind:10s} {label} workers={result['workers']}  saturated: {s['tickets_per_s']:.0f} tickets/s "
            f"p50 {s['p50_ms']} ms p99 {s['p99_ms']} ms errors {s['errors']}, server CPU {s['server_cpu_ms_per_ticket']} ms/ticket"
            + (f", PostgreSQL CPU {s['postgres_cpu_ms_per_ticket']} ms/ticket" if "postgres_cpu_ms_per_ticket" in s else "")
            + f" | at {f['rate']}/s: "
            f"p50 {f['p50_ms']} ms p99 {f['p99_ms']} ms errors {f['errors']} "
            f"(without our client's timer lateness: p50 {f['timer_corrected_p50_ms']} ms p99 {f['timer_corrected_p99_ms']} ms)"
            f" | peak RSS {result['peak_rss_mb']} MB",
            flush=True,
        )
        print(json.dumps(result), flush=True)


def _variant(text: str) -> tuple[str, dict]:
    label, _, settings = text.partition(":")
    return label, dict(item.split("=", 1) for item in settings.split(",") if item)


if __name__ == "__main__":
    main()
