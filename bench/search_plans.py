#!/usr/bin/env python3
"""The million-ticket searches in process, no HTTP: what each way of reading the matches costs.

    PYTHONPATH=src .venv/bin/python bench/search_plans.py --db sqlite:////tmp/m1m.db [--force MODE]

Runs queryTickets' and the web list's searches of ``bench/million.py`` on a database it filled,
each in a reader transaction (``Database.read_sync``), and prints the mode ``tickets.search``
chose and the best and median of ``--times`` runs in milliseconds. ``--force`` makes every search
use one mode (``few``, ``many``, ``dense``), to compare them.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--times", type=int, default=7)
    parser.add_argument("--force", default="")
    parser.add_argument("--explain", default="", help="print the plans of the cases whose name holds this")
    args = parser.parse_args()

    from million import state_path, vocabulary

    from telemetron.db.engine import Database, normalize_url
    from telemetron.db.scoped import Scoped
    from telemetron.members.auth import SignedIn
    from telemetron.tickets import queries, search
    from telemetron.tickets.requests import parse_query_tickets
    from telemetron.web import ticket_list

    url = normalize_url(args.db)
    state = json.loads(state_path(url).read_text())
    db = Database(url)
    words = vocabulary(random.Random(7))[0]
    many, few = words[200], words[15_000]
    chosen: list[str] = []
    plan, plan_ranked = search.plan, search.plan_ranked

    def noted(real):
        def wrapper(scoped, terms):
            mode, fts = real(scoped, terms)
            mode = args.force or mode
            chosen.append(mode)
            return mode, fts
        return wrapper

    search.plan, search.plan_ranked = noted(plan), noted(plan_ranked)
    member = SignedIn(state["agents"][0], state["org"], "Million", state["agent_email"], "Agent 0", "agent", "x")

    def api(body):
        query, _ = parse_query_tickets(body)
        return lambda conn: queries.query_tickets(Scoped(db, conn, state["org"]), query)

    def web(q):
        filters = ticket_list.ListFilters(status="", search=q)
        return lambda conn: ticket_list.list_page(Scoped(db, conn, state["org"]), member, filters)

    cases = {
        "web one ticket": web(f"ORD{state['tickets'] // 2:07d}"),
        f"web few ({few})": web(few),
        f"web many ({many})": web(many),
        "web very many (device)": web("device"),
        "web two words": web(f"device {many}"),
        "q few by last activity": api({"q": few, "sort": "updatedAt"}),
        "q many by last activity": api({"q": many, "sort": "updatedAt"}),
        f"q 2000th word ({words[2000]}) by last activity": api({"q": words[2000], "sort": "updatedAt"}),
        "q device by last activity": api({"q": "device", "sort": "updatedAt"}),
        "q many by relevance": api({"q": many}),
        "q very many by relevance (device)": api({"q": "device"}),
        "q two words by relevance": api({"q": f"device {many}"}),
    }
    for name, unit in cases.items():
        samples = []
        for _ in range(args.times):
            chosen.clear()
            began = time.perf_counter()
            db.read_sync(unit)
            samples.append((time.perf_counter() - began) * 1000)
        if args.explain and args.explain in name:
            explain(db, unit)
        print(f"{name:48s} {','.join(chosen):10s} best {min(samples):8.1f}  median {statistics.median(samples):8.1f} ms",
              flush=True)
    db.dispose()


def explain(db, unit) -> None:
    """Run ``unit`` again, then print each of its statements' plans (with timings on PostgreSQL)."""
    from sqlalchemy import event

    seen = []

    def note(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    def explained(conn):
        event.listen(conn, "before_cursor_execute", note)
        unit(conn)
        event.remove(conn, "before_cursor_execute", note)
        driver = conn.connection.dbapi_connection
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
            print("   ", statement.replace("\n", " ")[:300])
            for row in driver.execute(prefix + statement, parameters).fetchall():
                print("       ", row[-1])

    db.read_sync(explained)


if __name__ == "__main__":
    main()
