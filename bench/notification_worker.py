#!/usr/bin/env python3
"""The delivery worker's own cost: CPU time per delivery, and deliveries per second.

Queues --events ticket events (createTicket's unit of work, in batches) for an organization with
a webhook endpoint (and Slack with --slack), each at a local receiver in a separate process, then
runs one ``OutboxWorker`` in this process until every delivery is made. CPU is this process's
(user + system, every thread: the worker, SQLite's commit thread or PostgreSQL's pool), so
it does not count the receiver; it is steadier than wall-clock rates on a shared machine.

``--busy-rate R``: the worker as it runs beside a saturated API (``telemetron serve`` during a
burst of tickets), holding back to R deliveries a second: what each delivery then costs the API's
process. Use few events (100 with --slack: 200 deliveries, 10 s at R=20).

    .venv/bin/python bench/notification_worker.py --db sqlite --db postgresql [--slack] [--events 3000]
    .venv/bin/python bench/notification_worker.py --slack --events 100 --busy-rate 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from intake import prepare_database  # noqa: E402

RECEIVER = Path(__file__).parent / "ok_receiver.py"  # 200 "ok" to every POST, in its own process


def bench(kind: str, args) -> dict:
    from sqlalchemy import text

    from telemetron.config import Settings
    from telemetron.db.engine import Database
    from telemetron.db.migrate import upgrade
    from telemetron.db.scoped import Scoped
    from telemetron.notifications.settings import add_endpoint, set_settings
    from telemetron.orgs.service import create_organization
    from telemetron.outbox.worker import worker_from_settings
    from telemetron.tickets.requests import parse_create_ticket
    from telemetron.tickets.create import create_ticket

    workdir = Path(tempfile.mkdtemp(prefix="telemetron-bench-"))
    url, drop = prepare_database(kind, workdir)
    receiver = subprocess.Popen([sys.executable, str(RECEIVER), str(args.receiver_port)])
    db = None
    try:
        upgrade(url)
        db = Database(url)

        def organization(conn):
            org_id = create_organization(conn, name="Bench")["id"]
            scoped = Scoped(db, conn, org_id)
            add_endpoint(scoped, url=f"http://127.0.0.1:{args.receiver_port}/hook")
            if args.slack:
                set_settings(scoped, slack_webhook_url=f"http://127.0.0.1:{args.receiver_port}/slack")
            return org_id

        org_id = db.run_sync(organization)
        request = parse_create_ticket({"title": "Device not connecting to WiFi", "customerEmail": "bench@example.com",
                                       "priority": "high"})[0]

        def tickets(conn, n):
            scoped = Scoped(db, conn, org_id)
            for _ in range(n):
                create_ticket(scoped, request)

        for start in range(0, args.events, 500):
            db.run_sync(tickets, min(500, args.events - start))
        expected = args.events * (2 if args.slack else 1)
        time.sleep(0.5)  # the receiver is up

        def delivered() -> int:
            with db.engine.connect() as conn:
                return conn.execute(text("select count(*) from outbox where organization_id = :o and status = 'delivered'"),
                                    {"o": org_id}).scalar_one()

        settings = Settings(database_url=url)

        async def main() -> tuple[float, float, float]:
            stop = asyncio.Event()
            if args.busy_rate:  # beside an API that always wants more than the worker's share
                worker = worker_from_settings(db, settings, name="bench", beside_api=True)
                worker.busy_share, worker.busy_rate, worker.busy_hold = 0.0, args.busy_rate, 0.0  # the trickle
            else:  # alone in its process, as `telemetron worker`: it never holds back
                worker = worker_from_settings(db, settings, name="bench", beside_api=False)
            before, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
            task = asyncio.create_task(worker.run(stop))
            while await asyncio.to_thread(delivered) < expected:
                await asyncio.sleep(0.5 if args.busy_rate else 0.05)  # the count's own CPU counts too
            after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - wall
            stop.set()
            await task
            return after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, wall

        user, system, wall = asyncio.run(main())
        return {"database": kind, "events": args.events, "deliveries": expected, "busy_rate": args.busy_rate or None,
                "cpu_ms_per_delivery": round((user + system) * 1000 / expected, 3),
                "user_ms": round(user * 1000 / expected, 3), "system_ms": round(system * 1000 / expected, 3),
                "deliveries_per_s": round(expected / wall)}
    finally:
        receiver.terminate()
        receiver.wait()
        if db is not None:
            db.dispose()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--slack", action="store_true", help="Slack too: two deliveries per event")
    parser.add_argument("--busy-rate", type=float, default=0.0,
                        help="hold back to this many deliveries a second, as beside a saturated API")
    parser.add_argument("--receiver-port", type=int, default=8791)
    args = parser.parse_args()
    for kind in args.db or ["sqlite"]:
        print(json.dumps(bench(kind, args)), flush=True)


if __name__ == "__main__":
    main()
