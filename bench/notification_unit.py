#!/usr/bin/env python3
"""What notifications add to createTicket's unit of work, measured in-process (no HTTP, no wrk).

The same ticket is created for an organization with no destination and for one with Slack and a
webhook, in alternating batches of --batch tickets per transaction (about what group commit
puts in one under load), and the CPU time per ticket (this process, commit included) is
compared. Steadier than wrk on a shared machine, but it leaves out the rest of the request
(HTTP, validation, authentication: ~0.3-0.4 ms more per ticket, bench/README.md), so compare the
difference with the whole request's CPU from bench/notification_cost.sh.

    .venv/bin/python bench/notification_unit.py [--db sqlite|postgresql] [--tickets 20000] [--batch 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from intake import prepare_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()

    from telemetron.categories.service import add_category
    from telemetron.db.engine import Database
    from telemetron.db.migrate import upgrade
    from telemetron.db.scoped import Scoped
    from telemetron.notifications.settings import add_endpoint, set_settings
    from telemetron.orgs import config as org_config
    from telemetron.orgs.service import create_organization
    from telemetron.tickets.requests import parse_create_ticket
    from telemetron.tickets.create import create_ticket

    workdir = Path(tempfile.mkdtemp(prefix="telemetron-bench-"))
    url, drop = prepare_database(args.db, workdir)
    db = None
    try:
        upgrade(url)
        db = Database(url)

        def organization(conn, hooked: bool) -> str:
            org_id = create_organization(conn, name="Bench")["id"]
            scoped = Scoped(db, conn, org_id)
            add_category(scoped, name="Connectivity", description="Connectivity problems", ai_enabled=False)
            if hooked:
                add_endpoint(scoped, url="http://127.0.0.1:9/hook")
                set_settings(scoped, slack_webhook_url="http://127.0.0.1:9/slack")
            return org_id

        orgs = {hooked: db.run_sync(organization, hooked) for hooked in (False, True)}
        configs = {hooked: db.run_sync(lambda conn, o=o: org_config.load(Scoped(db, conn, o)))
                   for hooked, o in orgs.items()}
        request = parse_create_ticket({
            "title": "Device not connecting to WiFi",
            "description": "Customer reports their device fails to connect after firmware update v2.3.1",
            "priority": "high", "customerEmail": "customer1@example.com", "category": "Connectivity"})[0]

        def batch(conn, hooked: bool) -> None:
            scoped = Scoped(db, conn, orgs[hooked])
            for _ in range(args.batch):
                create_ticket(scoped, request, config=configs[hooked])

        samples: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(args.tickets // (2 * args.batch)):
            for hooked in ((False, True) if round_ % 2 else (True, False)):
                started = time.process_time()
                db.run_sync(batch, hooked)
                samples[hooked].append((time.process_time() - started) * 1e6 / args.batch)
        plain, hooked = statistics.median(samples[False]), statistics.median(samples[True])
        print(f"{args.db}: unit of work, CPU per ticket (median of {len(samples[True])} batches of {args.batch}): "
              f"no destination {plain:.0f} µs, Slack + webhook {hooked:.0f} µs, notifications {hooked - plain:+.0f} µs")
    finally:
        if db is not None:
            db.dispose()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
