#!/usr/bin/env python3
"""One organization with a million tickets: lists, pages and searches, alone and beside searches.

    .venv/bin/python bench/million.py fill --db sqlite:////tmp/m.db --tickets 1000000
    .venv/bin/python bench/million.py fill --db postgresql://postgres@127.0.0.1:5432/million --tickets 1000000
    .venv/bin/python bench/million.py measure --db <the same URL> [--src OTHER/src --src src --rounds 2]

``fill`` makes the schema (``telemetron db upgrade``), an organization with an API key, 20 agents
and 6 categories through the services, then bulk-loads tickets (2.5 messages each on average,
customers, words drawn from a Zipf-like vocabulary, an order number per ticket that only it
holds) with the drivers' fast paths (executemany / COPY) and indexes them for search with the
code the migration uses (``tickets.search.rebuild``). Every ticket has a category, so "Needs
triage" matches none. SQLite is not ANALYZEd (a server's database usually is not); PostgreSQL is,
as autovacuum would.

``measure`` starts ``telemetron serve`` on the database and times, over HTTP: the web list
(default, filters, the empty "Needs triage", a deep keyset page, searches), a ticket page,
getTicket and queryTickets (filters, ``q`` matching few and many, relevance), each alone; then
getTicket while 4 clients search without pause. Figures are milliseconds at the client, each with
the load average beside it. Given ``--src`` more than once, the trees are measured in turn, on
the same database, ``--rounds`` times, and the medians printed side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STATE = "bench_million.json"  # next to a SQLite file, or in /tmp for PostgreSQL
COMMON = ["the", "and", "not", "with", "after", "device", "please", "since", "when", "again", "help", "error"]
SUBJECTS = ["Router reboots", "Printer jams", "Invoice charged twice", "Battery drains fast", "Cannot sign in",
            "WiFi drops", "Screen flickers", "App crashes on start", "Refund request", "Password reset fails",
            "Sync is slow", "Update stuck", "Bluetooth pairing", "Camera blurry", "Order not delivered"]
STATUSES = ["resolved"] * 90 + ["open"] * 6 + ["in_progress"] * 2 + ["waiting_for_customer"] * 2
PRIORITIES = ["low"] * 30 + ["medium"] * 50 + ["high"] * 15 + ["urgent"] * 5


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """12 common words and 20,000 made-up ones, weighted 1/rank (a word of rank 10,000 is in ~40 tickets)."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "so", "du", "fa", "gi", "ho", "ju",
                 "be", "co", "da", "fu", "ge", "hi", "jo", "ku", "la", "mo", "nu", "po", "ri"]
    made_up = [a + b + c for a in syllables for b in syllables for c in syllables]
    words = COMMON + rng.sample(made_up, 20_000)
    weights, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1 / rank
        weights.append(total)
    return words, weights


def sentence(rng, words, cum, k) -> str:
    return " ".join(rng.choices(words, cum_weights=cum, k=k))


def setup(url: str, n: int) -> dict:
    """Schema, organization, key, agents and categories, through the services."""
    from telemetron.categories.service import add_category
    from telemetron.db.engine import Database
    from telemetron.db.migrate import upgrade
    from telemetron.db.scoped import Scoped
    from telemetron.members.auth import hash_password
    from telemetron.members.service import add_member
    from telemetron.orgs.apikeys import create_api_key
    from telemetron.orgs.service import create_organization

    upgrade(url)
    db = Database(url)
    password = "bench password 1M"

    def unit(conn):
        org = create_organization(conn, name="Million")
        key = create_api_key(conn, org_id=org["id"], name="bench")
        scoped = Scoped(db, conn, org["id"])
        agents = [add_member(scoped, email=f"agent{i}@million.example", name=f"Agent {i}", role="agent",
                             password_hash=hash_password(password) if i == 0 else None)["id"] for i in range(20)]
        cats = [add_category(scoped, name=name, description=name, ai_enabled=False)["id"]
                for name in ("Connectivity", "Battery", "Billing", "Account", "Hardware", "Delivery")]
        return {"org": org["id"], "key": key.key, "agents": agents, "categories": cats,
                "agent_email": "agent0@million.example", "password": password}

    state = db.run_sync(unit)
    db.dispose()
    return state


def rows(state: dict, n: int, seed: int = 7):
    """(customers, tickets, messages) in chunks, as plain tuples."""
    rng = random.Random(seed)
    words, cum = vocabulary(rng)
    org = state["org"]
    n_customers = max(n // 20, 10)
    customers = [(f"cust_{i:012x}", org, f"user{i}@domain{i % 997}.example", f"Customer {rng.choice(words)} {i}",
                  "{}") for i in range(n_customers)]
    yield "customers", customers
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(days=700) / n
    message_id = 0
    for chunk_start in range(0, n, 50_000):
        tickets, messages = [], []
        for i in range(chunk_start, min(n, chunk_start + 50_000)):
            created = start + step * i
            status = rng.choice(STATUSES)
            count = rng.choice((1, 2, 2, 3, 3, 4))
            updated = created + timedelta(minutes=rng.randint(0, 60 * 24 * (30 if status == "resolved" else 2)))
            ticket_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            last_customer = None
            for position in range(count):
                role = "customer" if position % 2 == 0 else "agent"
                at = created + (updated - created) * (position / max(count - 1, 1))
                last_customer = at if role == "customer" else last_customer
                message_id += 1
                messages.append((message_id, org, ticket_id, position, role, sentence(rng, words, cum, rng.randint(8, 25)), at))
            waiting = last_customer if count % 2 == 1 else None
            tickets.append((
                ticket_id, org, customers[rng.randrange(n_customers)][0], f"{rng.choice(SUBJECTS)} {rng.choice(words)}",
                f"{sentence(rng, words, cum, rng.randint(10, 30))} order ORD{i:07d}", rng.choice(PRIORITIES), status,
                rng.choice(state["categories"]), rng.choice(state["agents"]) if rng.random() < 0.9 else None,
                updated if status == "resolved" else None, created, updated, last_customer, waiting,
            ))
        yield "tickets", tickets
        yield "messages", messages


TICKET_COLUMNS = ("id", "organization_id", "customer_id", "title", "description", "priority", "status", "category_id",
                  "assignee_id", "resolved_at", "created_at", "updated_at", "last_customer_message_at", "waiting_since")
MESSAGE_COLUMNS = ("id", "organization_id", "ticket_id", "position", "role", "content", "created_at")
CUSTOMER_COLUMNS = ("id", "organization_id", "email", "name", "metadata")


def load_sqlite(path: str, state: dict, n: int) -> None:
    import sqlite3

    def text(value):
        return value.isoformat(" ", "microseconds")[:26] if isinstance(value, datetime) else value

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    now = text(datetime.now(UTC))
    for kind, chunk in rows(state, n):
        conn.execute("BEGIN")
        if kind == "customers":
            conn.executemany(f"INSERT INTO customers ({', '.join(CUSTOMER_COLUMNS)}, created_at, updated_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", [(*c, now, now) for c in chunk])
        elif kind == "tickets":
            conn.executemany(
                f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}, description_generated, category_source, tags) "
                f"VALUES ({', '.join('?' * len(TICKET_COLUMNS))}, 0, 'provided', '[]')",
                [tuple(text(v) for v in t) for t in chunk])
        else:
            conn.executemany(f"INSERT INTO ticket_messages ({', '.join(MESSAGE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [tuple(text(v) for v in m) for m in chunk])
        conn.execute("COMMIT")
        print(f"  {kind}: {len(chunk):,} rows", flush=True)
    conn.close()


def load_postgres(url: str, state: dict, n: int) -> None:
    import psycopg

    now = datetime.now(UTC)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        for kind, chunk in rows(state, n):
            with conn.cursor() as cur:
                if kind == "customers":
                    with cur.copy(f"COPY customers ({', '.join(CUSTOMER_COLUMNS)}, created_at, updated_at) FROM STDIN") as copy:
                        for c in chunk:
                            copy.write_row((*c, now, now))
                elif kind == "tickets":
                    with cur.copy(f"COPY tickets ({', '.join(TICKET_COLUMNS)}, description_generated, "
                                  "category_source, tags) FROM STDIN") as copy:
                        for t in chunk:
                            copy.write_row((*t, False, "provided", "[]"))
                else:
                    with cur.copy(f"COPY ticket_messages ({', '.join(MESSAGE_COLUMNS)}) FROM STDIN") as copy:
                        for m in chunk:
                            copy.write_row(m)
            print(f"  {kind}: {len(chunk):,} rows", flush=True)
        conn.execute("SELECT setval(pg_get_serial_sequence('ticket_messages', 'id'), (SELECT max(id) FROM ticket_messages))")


def fill(url: str, n: int) -> None:
    from sqlalchemy import create_engine

    from telemetron.db.engine import normalize_url
    from telemetron.tickets import search

    url = normalize_url(url)
    began = time.perf_counter()
    state = setup(url, n)
    print(f"organization {state['org']}; loading {n:,} tickets", flush=True)
    if url.startswith("sqlite"):
        load_sqlite(url.split("///", 1)[1], state, n)
    else:
        load_postgres(url, state, n)
    loaded = time.perf_counter()
    print(f"loaded in {loaded - began:.0f} s; indexing for search", flush=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        search.rebuild(conn)
    if not url.startswith("sqlite"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    print(f"indexed in {time.perf_counter() - loaded:.0f} s", flush=True)
    state_path(url).write_text(json.dumps({**state, "tickets": n}))


def state_path(url: str) -> Path:
    if url.startswith("sqlite"):
        return Path(url.split("///", 1)[1] + ".bench.json")
    return Path("/tmp") / (url.rsplit("/", 1)[1] + ".bench.json")


# --- measuring -------------------------------------------------------------------------------------


def serve(url: str, port: int, src: Path) -> subprocess.Popen:
    env = {**os.environ, "TELEMETRON_DATABASE_URL": url, "TELEMETRON_RUN_WORKER": "false",
           "TELEMETRON_LOG_LEVEL": "warning", "TELEMETRON_ACCESS_LOG": "false", "TELEMETRON_RATE_LIMIT": "off",
           "PYTHONPATH": str(src)}
    server = subprocess.Popen([str(BIN / "telemetron"), "serve", "--port", str(port)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/signin", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def sign_in(base: str, state: dict) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    page = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post("/signin", data={"email": state["agent_email"], "password": state["password"], "csrf": csrf})
    assert answer.status_code == 303, answer.text
    return client


def timed(call, times: int) -> dict:
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code in (200, 303), (response.status_code, response.text[:300])
    samples.sort()
    return {"p50": samples[len(samples) // 2], "p95": samples[int(len(samples) * 0.95) - 1],
            "p99": samples[max(int(len(samples) * 0.99) - 1, 0)], "max": samples[-1], "n": len(samples)}


def deep_next_link(web: httpx.Client, path: str, pages: int) -> str:
    for _ in range(pages):
        found = re.search(r'<a href="(/tickets\?[^"]+)" rel="next"', web.get(path).text)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
    return path


def scenarios(web: httpx.Client, api: httpx.Client, state: dict, n: int) -> dict:
    rng = random.Random(1)
    some = [t["id"] for t in api.post("/api/ext-v1/ticket/queryTickets", json={"limit": 100}).json()["tickets"]]
    cat = state["categories"][2]
    rare = f"ORD{n // 2:07d}"
    deep = deep_next_link(web, "/tickets?status=", 40)  # a keyset page 40 pages (1,000 tickets) deep

    def q(body):
        return lambda: api.post("/api/ext-v1/ticket/queryTickets", json=body)

    def page(path):
        return lambda: web.get(path)

    # A made-up word of rank ~200 (in ~1% of tickets: "many") and one of rank ~15,000 (a few dozen: "few").
    from_words = vocabulary(random.Random(7))[0]
    many, few = from_words[200], from_words[15_000]
    return {
        "web list, default (not resolved, by last activity)": page("/tickets"),
        "web list, any status": page("/tickets?status="),
        "web list, Needs triage (none)": page("/tickets?category=none"),
        "web list, Needs triage, any status (none)": page("/tickets?category=none&status="),
        "web list, one category": page(f"/tickets?category={cat}&status="),
        "web list, assigned to me": page("/tickets?assignee=me&status="),
        "web list, urgent": page("/tickets?priority=urgent"),
        "web list, by priority": page("/tickets?sort=priority"),
        "web list, 40 pages deep": page(deep),
        "web search, one ticket (order number)": page(f"/tickets?status=&q={rare}"),
        f"web search, few ({few})": page(f"/tickets?status=&q={few}"),
        f"web search, many ({many})": page(f"/tickets?status=&q={many}"),
        "web search, very many (device)": page("/tickets?status=&q=device"),
        "web search, two words": page(f"/tickets?status=&q=device+{many}"),
        "web ticket page": lambda: web.get(f"/tickets/{rng.choice(some)}"),
        "getTicket": lambda: api.get(f"/api/ext-v1/ticket/getTicket/{rng.choice(some)}"),
        "queryTickets, default": q({}),
        "queryTickets, category none": q({"category": "none"}),
        "queryTickets, status waiting_for_customer by last activity": q({"status": "waiting_for_customer", "sort": "updatedAt"}),
        "queryTickets q, one ticket": q({"q": rare}),
        "queryTickets q, few by last activity": q({"q": few, "sort": "updatedAt"}),
        "queryTickets q, many by last activity": q({"q": many, "sort": "updatedAt"}),
        "queryTickets q, many by relevance": q({"q": many}),
        "queryTickets q, very many by relevance (device)": q({"q": "device"}),
    }


def searcher(base: str, state: dict, stop: threading.Event, counts: list) -> None:
    words = vocabulary(random.Random(7))[0]
    rng = random.Random()
    with httpx.Client(base_url=base, timeout=60, headers={"x-api-key": state["key"]}) as api:
        while not stop.is_set():
            word = rng.choice([words[200], words[15_000], words[2_000], "device"])
            api.post("/api/ext-v1/ticket/queryTickets", json={"q": word, "sort": "updatedAt"})
            counts.append(1)


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def beside_searches(base: str, api: httpx.Client, state: dict, times: int) -> tuple[dict, float]:
    """getTicket timed while 4 clients search without pause; (its figures, searches a second)."""
    stop, counts = threading.Event(), []
    searchers = [threading.Thread(target=searcher, args=(base, state, stop, counts)) for _ in range(4)]
    for s in searchers:
        s.start()
    time.sleep(1)
    rng = random.Random(2)
    some = [t["id"] for t in api.post("/api/ext-v1/ticket/queryTickets", json={"limit": 100}).json()["tickets"]]
    before = len(counts)
    began = time.perf_counter()
    try:
        busy = timed(lambda: api.get(f"/api/ext-v1/ticket/getTicket/{rng.choice(some)}"), times)
    finally:
        stop.set()
        for s in searchers:
            s.join()
    return busy, (len(counts) - before) / (time.perf_counter() - began)


BUSY = "getTicket while 4 clients search"


def measure_once(url: str, state: dict, times: int, port: int, src: Path, only: list[str]) -> dict:
    """Every scenario (or those whose name holds one of ``only``) against a server running ``src``."""
    base = f"http://127.0.0.1:{port}"
    server = serve(url, port, src)
    results = {}
    try:
        web = sign_in(base, state)
        api = httpx.Client(base_url=base, timeout=60, headers={"x-api-key": state["key"]})
        for name, call in scenarios(web, api, state, state["tickets"]).items():
            if only and not any(o in name for o in only):
                continue
            call()  # warm
            results[name] = timed(call, times)
            print(f"{name:62s} p50 {results[name]['p50']:7.1f}  p95 {results[name]['p95']:7.1f}  "
                  f"p99 {results[name]['p99']:7.1f} ms  {load()}", flush=True)
        if not only or any(o in BUSY for o in only):
            busy, rate = beside_searches(base, api, state, times * 3)
            results[BUSY] = {**busy, "searches_per_s": rate}
            print(f"{BUSY + ' (' + format(rate, '.0f') + ' searches/s)':62s} p50 {busy['p50']:7.1f}  "
                  f"p95 {busy['p95']:7.1f}  p99 {busy['p99']:7.1f} ms  {load()}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def measure(url: str, times: int, port: int, srcs: list[Path], only: list[str], rounds: int) -> None:
    """Each tree in turn, ``rounds`` times (trees alternated, so that they share the host's load)."""
    from telemetron.db.engine import normalize_url

    url = normalize_url(url)
    state = json.loads(state_path(url).read_text())
    every: dict[Path, list[dict]] = {src: [] for src in srcs}
    for round_number in range(rounds):
        for src in srcs:
            print(f"--- round {round_number + 1}: {src}  {load()}", flush=True)
            every[src].append(measure_once(url, state, times, port, src, only))
    if len(srcs) > 1 or rounds > 1:
        print("--- median over rounds, p50 / p95 (p99 for the last line) ms:", flush=True)
        for name in every[srcs[0]][0]:
            cells = []
            for src in srcs:
                runs = [r[name] for r in every[src]]
                tail = "p99" if name == BUSY else "p95"
                cells.append(f"{statistics.median(r['p50'] for r in runs):7.1f} / "
                             f"{statistics.median(r[tail] for r in runs):7.1f}")
            print(f"{name:62s} " + "   ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("fill", "measure"))
    parser.add_argument("--db", required=True, help="sqlite:////path/file.db or postgresql://.../database")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--times", type=int, default=100, help="requests per scenario")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--src", type=Path, action="append",
                        help="the source tree the server runs (default: this one's src); twice or more to compare")
    parser.add_argument("--only", action="append", default=[], help="scenarios whose name holds this (repeatable)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every tree this many times, alternated")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.command == "fill":
        fill(args.db, args.tickets)
    else:
        measure(args.db, args.times, args.port, args.src or [ROOT / "src"], args.only, args.rounds)


if __name__ == "__main__":
    main()
