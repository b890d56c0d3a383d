"""CPU of createTicket's unit of work alone (no HTTP), batched 20 at a time as the server does.

    .venv/bin/python bench/intake_unit.py pg          # or: sqlite; --profile prints cProfile's top
Creates a scratch database (PostgreSQL at 127.0.0.1:5432, or a SQLite file in /tmp), warms up with
1,000 tickets, then times 4,000: CPU per ticket is the execution path's own cost, steadier than
a load test on a shared machine.
"""
import cProfile
import pstats
import sys
import time
import uuid

from sqlalchemy import create_engine, text

from telemetron.categories.service import add_category
from telemetron.db.engine import Database, normalize_url, run_units
from telemetron.db.migrate import upgrade
from telemetron.db.scoped import Scoped
from telemetron.orgs.apikeys import create_api_key
from telemetron.orgs.service import create_organization
from telemetron.api.pipeline import Call, unit
from telemetron.api.create_ticket import CREATE_TICKET, Prepared, create_action, parse
from telemetron.config import Settings

kind = sys.argv[1]
if kind == "pg":
    name = f"unitprof_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalize_url("postgresql://postgres@127.0.0.1:5432/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c: c.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
else:
    url = f"sqlite:////tmp/telemetron-unit-{uuid.uuid4().hex[:6]}.db"
upgrade(url)
db = Database(url)
def setup(conn):
    org = create_organization(conn, name="P")
    key = create_api_key(conn, org_id=org["id"], name="k")
    add_category(Scoped(db, conn, org["id"]), name="Connectivity")
    return key.key
key = db.run_sync(setup)
def intake(i):
    body = {"title": "Device not connecting to WiFi", "description": "fails after update", "priority": "high",
            "customerEmail": f"customer{i % 1000}@example.com", "category": "Connectivity"}
    return Call(CREATE_TICKET, key, parse(body, SETTINGS), None, None)
SETTINGS = Settings(max_messages=1000, max_text_bytes=65536)
ACTION = create_action(Prepared())
BATCH = 20
def run(n):
    conn = db.engine.connect()
    for b in range(n // BATCH):
        batch = [(None, unit, (db, intake(b * BATCH + j), ACTION), {}) for j in range(BATCH)]
        with conn.begin():
            out = run_units(conn, batch, combine_statements=(kind == "pg"))
            assert all(e is None for _, _, e in out), out
    conn.close()
run(1000)  # warm: customers exist, statements prepared
n = 4000
t = time.process_time(); w = time.perf_counter()
run(n)
print(f"{kind}: {1000*(time.process_time()-t)/n:.3f} ms CPU/ticket, {1000*(time.perf_counter()-w)/n:.3f} ms wall/ticket")
if "--profile" in sys.argv:
    pr = cProfile.Profile(); pr.enable(); run(2000); pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(22)
db.dispose()
if kind == "pg":
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
