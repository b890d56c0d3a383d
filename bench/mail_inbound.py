"""Inbound email: 1,000 mails through POST /api/inbound/email and through IMAP (a real Dovecot).

    PYTHONPATH=src .venv/bin/python bench/mail_inbound.py http [--db sqlite|postgresql] [--mails 1000] [--concurrency 8]
    PYTHONPATH=src .venv/bin/python bench/mail_inbound.py imap [--db sqlite|postgresql] [--mails 1000]

http: a `telemetron serve` process (worker off); the mails are posted by C concurrent clients, each
distinct (its own Message-ID and sender), one in five a reply to an earlier one (threaded by
In-Reply-To). Prints mails/s and the p50/p95 of request -> answer (the answer comes after the commit).
imap: N mails appended to a Dovecot inbox, then a `telemetron worker` started: mails/s until every
one is committed; then 100 mails appended one by one (every 0.2 s) with the worker in IDLE: p50/p95
from the append to the message's commit (its created_at).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "mail"))

from telemetron.db.engine import Database
from telemetron.db.migrate import upgrade
from telemetron.db.scoped import Scoped
from telemetron.mail.mailboxes import add_mailbox
from telemetron.orgs.service import create_organization

BODY = ("Hello,\r\n\r\nsince the firmware update my thermostat no longer joins the WiFi.\r\n"
        "I tried restarting the router twice.\r\n\r\nThanks,\r\nAnna\r\n")


def raw_mail(i: int, run: str) -> bytes:
    reply = f"In-Reply-To: <m{i - 4}.{run}@bench.example>\r\n" if i % 5 == 4 else ""
    sender = f"customer{i - 4 if reply else i}@bench.example"
    return (f"From: Customer {i} <{sender}>\r\nTo: support@acme.example\r\nSubject: WiFi problem {i}\r\n"
            f"Message-ID: <m{i}.{run}@bench.example>\r\n{reply}Date: Fri, 4 Dec 2026 10:00:00 +0000\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{BODY}").encode()


def database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='telemetron-mailbench-')}/bench.db"
    name = f"mailbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def setup(url: str, imap_url: str | None) -> tuple[str, str]:
    upgrade(url)
    db = Database(url, pool_size=2)

    def unit(conn):
        org = create_organization(conn, name="Bench")
        box = add_mailbox(Scoped(db, conn, org["id"]), address="support@acme.example", smtp_url="smtp://127.0.0.1:1",
                          imap_url=imap_url)
        return org["id"], box["inboundSecret"]

    try:
        return db.run_sync(unit)
    finally:
        db.dispose()


def env(url: str) -> dict:
    return {**os.environ, "TELEMETRON_DATABASE_URL": url, "TELEMETRON_SECRET_KEY": os.environ["TELEMETRON_SECRET_KEY"],
            "TELEMETRON_ATTACHMENTS_DIR": tempfile.mkdtemp(prefix="telemetron-mailbench-files-"),
            "TELEMETRON_MAIL_NEW_TICKETS_PER_SENDER_PER_HOUR": "1000", "TELEMETRON_LOG_LEVEL": "warning",
            "PYTHONPATH": str(ROOT / "src")}


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


async def post_all(port: int, secret: str, mails: list[bytes], concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue = list(enumerate(mails))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        async def one_client():
            while queue:
                _i, raw = queue.pop(0)
                started = time.perf_counter()
                r = await client.post("/api/inbound/email", content=raw, headers={
                    "Authorization": f"Bearer {secret}", "Content-Type": "message/rfc822"})
                assert r.status_code == 200 and "ticketId" in r.json(), r.text
                latencies.append(time.perf_counter() - started)
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies


def bench_http(url: str, n: int, concurrency: int) -> None:
    _org, secret = setup(url, None)
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen([str(Path(sys.executable).parent / "telemetron"), "serve", "--port", str(port)],
                              env={**env(url), "TELEMETRON_RUN_WORKER": "false"})
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        run = uuid.uuid4().hex[:6]
        asyncio.run(post_all(port, secret, [raw_mail(i, "warm" + run) for i in range(50)], concurrency))
        mails = [raw_mail(i, run) for i in range(n)]
        started = time.perf_counter()
        latencies = asyncio.run(post_all(port, secret, mails, concurrency))
        took = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(30)
    print(f"http: {n} mails in {took:.2f} s = {n / took:.0f} mails/s; request->committed p50 "
          f"{pct(latencies, 50) * 1000:.1f} ms, p95 {pct(latencies, 95) * 1000:.1f} ms (concurrency {concurrency})")


def committed(url: str, org: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM ticket_messages WHERE organization_id = :o"), {"o": org}).scalar()


def bench_imap(url: str, n: int) -> None:
    from dovecot import Dovecot

    folder = Path(tempfile.mkdtemp(prefix="telemetron-dovecot-"))
    server = Dovecot(folder, ["support@acme.example"]).start()
    worker = None
    try:
        org, _secret = setup(url, server.url("support@acme.example"))
        run = uuid.uuid4().hex[:6]
        with server.client("support@acme.example") as imap:
            for i in range(n):
                imap.append(raw_mail(i, run), "INBOX", flag_set=())
        started = time.perf_counter()
        worker = subprocess.Popen([str(Path(sys.executable).parent / "telemetron"), "worker"],
                                  env={**env(url), "TELEMETRON_MAIL_POLL_SECONDS": "5"})
        while committed(url, org) < n:
            time.sleep(0.05)
        took = time.perf_counter() - started
        print(f"imap backlog: {n} mails in {took:.2f} s = {n / took:.0f} mails/s (from the worker's start, "
              "connecting and logging in included)")
        appended: dict[str, datetime] = {}
        with server.client("support@acme.example") as imap:
            for i in range(100):
                mid = f"idle{i}.{run}@bench.example"
                raw = raw_mail(i, run).replace(f"<m{i}.{run}@bench.example>".encode(), f"<{mid}>".encode())
                appended[mid] = datetime.now(UTC)
                imap.append(raw, "INBOX", flag_set=())
                time.sleep(0.2)
        while committed(url, org) < n + 100:
            time.sleep(0.05)
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT email_message_id, created_at FROM ticket_messages "
                                     "WHERE organization_id = :o AND email_message_id LIKE 'idle%'"), {"o": org}).all()
        delays = []
        for mid, created in rows:
            created = created if isinstance(created, datetime) else datetime.fromisoformat(str(created))
            created = created.replace(tzinfo=UTC) if created.tzinfo is None else created
            delays.append((created - appended[mid]).total_seconds())
        print(f"imap idle: 100 mails appended every 0.2 s: append->committed p50 {pct(delays, 50) * 1000:.0f} ms, "
              f"p95 {pct(delays, 95) * 1000:.0f} ms")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(60)
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("http", "imap"))
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("TELEMETRON_SECRET_KEY", "bench-only-secret")
    url = database(args.db)
    print(f"{args.mode} on {args.db}")
    if args.mode == "http":
        bench_http(url, args.mails, args.concurrency)
    else:
        bench_imap(url, args.mails)


if __name__ == "__main__":
    main()
