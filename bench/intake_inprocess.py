"""CPU per createTicket through the whole ASGI app in-process (no sockets, no HTTP parsing), SQLite.

    .venv/bin/python bench/intake_inprocess.py            # an organization without notifications
    NOTIFY=1 .venv/bin/python bench/intake_inprocess.py   # with a Slack URL and a webhook (worker off)
    BENCH_SCHEMA=features_off .venv/bin/python bench/intake_inprocess.py   # bench/schemas, as intake.py's variants
    BENCH_SCHEMA=features_off+number_off PYTHONPATH=bench/variants/core .venv/bin/python bench/intake_inprocess.py   # the path alone
32 concurrent callers, 1,600 warm-up requests, then 4,800 timed (``N=150`` callers' requests
each); prints the process's CPU time (all threads, commits included) per request. Steadier than a load test on a shared machine, but
still ±15% between runs here: compare several runs of each.
"""
import asyncio
import json
import os
import time
import uuid

from telemetron.app import create_app
from telemetron.categories.service import add_category
from telemetron.config import Settings
from telemetron.db.engine import Database
from telemetron.db.migrate import upgrade
from telemetron.db.scoped import Scoped
from telemetron.orgs.apikeys import create_api_key
from telemetron.orgs.service import create_organization

url = f"sqlite:////tmp/telemetron-inprocess-{uuid.uuid4().hex[:6]}.db"
upgrade(url)
db = Database(url)
def setup(conn):
    org = create_organization(conn, name="P")
    key = create_api_key(conn, org_id=org["id"], name="k")
    add_category(Scoped(db, conn, org["id"]), name="Connectivity")
    if os.environ.get("NOTIFY"):
        from telemetron.notifications.settings import add_endpoint, set_settings
        set_settings(Scoped(db, conn, org["id"]), slack_webhook_url="http://127.0.0.1:9/slack", public_url="http://x")
        add_endpoint(Scoped(db, conn, org["id"]), url="http://127.0.0.1:9/hook")
    return key.key
key = db.run_sync(setup)
if os.environ.get("BENCH_SCHEMA"):  # as bench/intake.py's variants: NAME[+NAME], bench/schemas/NAME.sql
    from intake import change_schemas
    for name in os.environ["BENCH_SCHEMA"].split("+"):
        change_schemas(url, name, "sqlite")
# The limiter and the access log are measured apart (bench/request_path_instructions.sh); unless
# asked for, 32 callers would meet the default quota and every request would write a log line.
os.environ.setdefault("TELEMETRON_RATE_LIMIT", "off")
os.environ.setdefault("TELEMETRON_ACCESS_LOG", "false")
app = create_app(Settings(database_url=url, run_worker=False), db=db)

async def call(i):
    body = json.dumps({"title": "Device not connecting to WiFi", "description": "fails after update", "priority": "high",
                       "customerEmail": f"customer{i % 1000}@example.com", "category": "Connectivity"}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/ext-v1/ticket/createTicket", "raw_path": b"/api/ext-v1/ticket/createTicket", "query_string": b"",
             "root_path": "", "headers": [(b"host", b"x"), (b"content-type", b"application/json"), (b"x-api-key", key.encode()),
             (b"content-length", str(len(body)).encode())], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = False
    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
    status = []
    async def send(m):
        if m["type"] == "http.response.start": status.append(m["status"])
    await app(scope, receive, send)
    assert status == [200], status

async def main():
    lifespan_q = asyncio.Queue()
    async def lreceive(): return await lifespan_q.get()
    async def lsend(m): pass
    await lifespan_q.put({"type": "lifespan.startup"})
    lt = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, lreceive, lsend))
    await asyncio.sleep(0.2)
    async def worker(w, n):
        for i in range(n): await call(w * 100000 + i)
    await asyncio.gather(*(worker(w, 50) for w in range(32)))
    t = time.process_time(); n = int(os.environ.get("N", "150"))
    await asyncio.gather(*(worker(w, n) for w in range(32)))
    print(f"{1000 * (time.process_time() - t) / (32 * n):.3f} ms CPU per request")
    await lifespan_q.put({"type": "lifespan.shutdown"})
    await lt
asyncio.run(main())
