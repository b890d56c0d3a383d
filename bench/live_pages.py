#!/usr/bin/env python3
"""What 200 open agent pages cost the server: the web app's live-update polls.

Starts the server as the README does (``telemetron db upgrade``, ``org create``, ``serve``) on a
fresh database, signs in 10 agents, opens 200 pages (160 ticket lists, 40 ticket pages: 20 tabs
each), and has each do what ``static/web/app.js`` does: every 5 s (staggered) one "changed since"
poll (``/live/tickets``, or ``/live/tickets/<id>`` with a presence heartbeat every third poll),
and, when the token moved, fetch its page again (a list's ``/tickets``). Two phases of --duration
seconds: **idle** (nothing changes) and **busy** (a new ticket through the API every 2 s, so every
list page refetches after each). Prints requests/s, the server's CPU (from /proc) and latencies.

    .venv/bin/python bench/live_pages.py --db sqlite --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import BIN, cpu_seconds, postgres_backends, prepare_database, server_pids, sh  # noqa: E402

PASSWORD = "bench password 123"
AGENTS, PAGES, TICKET_PAGES, POLL = 10, 200, 40, 5.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 2)


async def sign_in(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base, follow_redirects=False) as c:
        page = await c.get("/signin")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await c.post("/signin", data={"email": email, "password": PASSWORD, "csrf": csrf})
        return c.cookies["telemetron_session"]


async def open_page(base: str, cookie: str, ticket_id: str | None, until: float, stats: dict) -> None:
    # Its own connection, as a browser tab; verify=False: plain HTTP here, and loading the CA
    # bundle for each of 200 clients would take seconds of the phase.
    c = httpx.AsyncClient(base_url=base, cookies={"telemetron_session": cookie}, timeout=30, verify=False)
    token, beats = None, 0
    await asyncio.sleep(random.uniform(0, POLL))  # pages were opened at different times
    while time.monotonic() < until:
        beats += 1
        url = "/live/tickets" if ticket_id is None else f"/live/tickets/{ticket_id}?heartbeat={int(beats % 3 == 0)}"
        started = time.perf_counter()
        response = await c.get(url)
        stats["poll"].append(time.perf_counter() - started)
        stats["errors"] += response.status_code != 200
        fresh = response.json().get("token") if response.status_code == 200 else token
        if token is not None and fresh != token:
            started = time.perf_counter()
            page = await c.get("/tickets" if ticket_id is None else f"/tickets/{ticket_id}")
            stats["refetch"].append(time.perf_counter() - started)
            stats["errors"] += page.status_code != 200
        token = fresh
        await asyncio.sleep(POLL)


async def new_tickets(base: str, key: str, until: float, every: float) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"x-api-key": key}) as c:
        n = 0
        while time.monotonic() < until:
            n += 1
            await c.post("/api/ext-v1/ticket/createTicket",
                         json={"title": f"Live bench {n}", "customerEmail": f"c{n % 50}@example.com"})
            await asyncio.sleep(every)


def probe(base: str, cookie: str, stop: threading.Event, seen: list[float]) -> None:
    """One more page polling twice a second from its own thread: the server's answer time, apart
    from the 200 simulated pages' client (one Python process, which lags on a busy machine)."""
    with httpx.Client(base_url=base, cookies={"telemetron_session": cookie}, timeout=30) as c:
        while not stop.is_set():
            started = time.perf_counter()
            c.get("/live/tickets")
            seen.append(time.perf_counter() - started)
            stop.wait(0.5)


async def phase(base: str, cookies: list[str], tickets: list[str], key: str, seconds: int, busy: bool,
                pids: list[int]) -> dict:
    stats: dict = {"poll": [], "refetch": [], "errors": 0}
    probed: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=probe, args=(base, cookies[0], stop, probed))
    prober.start()
    client_cpu = time.process_time()
    until = time.monotonic() + seconds
    cpu_before, started = cpu_seconds(pids), time.monotonic()
    tasks = [open_page(base, cookies[i % AGENTS], tickets[i % len(tickets)] if i < TICKET_PAGES else None, until, stats)
             for i in range(PAGES)]
    if busy:
        tasks.append(new_tickets(base, key, until, 2.0))
    await asyncio.gather(*tasks)
    stop.set()
    prober.join()
    elapsed = time.monotonic() - started
    client_cpu = time.process_time() - client_cpu
    cpu = cpu_seconds(pids) - cpu_before
    return {"phase": "busy" if busy else "idle", "seconds": round(elapsed, 1),
            "polls_per_s": round(len(stats["poll"]) / elapsed, 1), "refetches_per_s": round(len(stats["refetch"]) / elapsed, 1),
            "server_cpu_percent": round(100 * cpu / elapsed, 1),
            "server_cpu_ms_per_request": round(1000 * cpu / max(1, len(stats["poll"]) + len(stats["refetch"])), 2),
            "load_average": open("/proc/loadavg").read().split()[0],
            "bench_client_cpu_percent": round(100 * client_cpu / elapsed, 1),
            "probe_ms": {"p50": pct(probed, .5), "p95": pct(probed, .95), "p99": pct(probed, .99)},
            "poll_ms": {"p50": pct(stats["poll"], .5), "p95": pct(stats["poll"], .95), "p99": pct(stats["poll"], .99)},
            "refetch_ms": {"p50": pct(stats["refetch"], .5), "p95": pct(stats["refetch"], .95)},
            "errors": stats["errors"]}


def prepare(env: dict, workdir: Path) -> tuple[dict, list[str]]:
    telemetron = str(BIN / "telemetron")
    sh(telemetron, "db", "upgrade", env=env, cwd=workdir)
    org = json.loads(sh(telemetron, "org", "create", "Bench", "--category", "Connectivity", "--json",
                        env=env, cwd=workdir).stdout)
    emails = [f"agent{i}@example.com" for i in range(AGENTS)]
    for email in emails:
        sh(telemetron, "member", "add", "--org", org["organizationId"], email, "--name", email.split("@")[0],
           env=env, cwd=workdir)
        subprocess.run([telemetron, "member", "password", "--org", org["organizationId"], email,
                        "--password-stdin"], input=PASSWORD + "\n", env=env, cwd=workdir, check=True,
                       capture_output=True, text=True)
    return org, emails


def bench(kind: str, args) -> list[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="telemetron-live-"))
    url, drop = prepare_database(kind, workdir)
    env = {"PATH": "/usr/bin:/bin", "TELEMETRON_DATABASE_URL": url, "TELEMETRON_LOG_LEVEL": "warning",
           "TELEMETRON_RUN_WORKER": "false", **{k: v for k, v in __import__("os").environ.items()
                                                  if k in ("PYTHONPATH", "HOME")}}
    server = None
    try:
        org, emails = prepare(env, workdir)
        server = subprocess.Popen([str(BIN / "telemetron"), "serve", "--port", str(args.port)], env=env, cwd=workdir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"x-api-key": org["apiKey"]}
        tickets = [httpx.post(f"{base}/api/ext-v1/ticket/createTicket", headers=headers, timeout=30,
                              json={"title": f"Open {i}", "customerEmail": f"c{i}@example.com"}).json()["ticketId"]
                   for i in range(args.tickets)]

        async def run() -> list[dict]:
            cookies = await asyncio.gather(*(sign_in(base, e) for e in emails))
            pids = server_pids(server.pid) + (postgres_backends(url) if kind == "postgresql" else [])
            return [await phase(base, cookies, tickets, org["apiKey"], args.duration, busy, pids) for busy in (False, True)]

        return [{"database": kind, **r} for r in asyncio.run(run())]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"], help="repeatable; default both")
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--tickets", type=int, default=60, help="open tickets before the pages are opened")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    for kind in args.db or ["sqlite", "postgresql"]:
        for result in bench(kind, args):
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
