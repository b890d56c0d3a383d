"""``telemetron outbox ...`` (what was sent, what failed, retry it) and ``telemetron worker``."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated, Optional

import typer

from telemetron.cli_support import JsonOption, OrgOption, echo_json, fail, open_db, scoped_read, scoped_run

outbox_app = typer.Typer(help="Notifications waiting, sent and failed.", no_args_is_help=True)
worker_app = typer.Typer()


@outbox_app.command("list")
def outbox_list(
    org: OrgOption,
    status: Annotated[Optional[str], typer.Option(help="pending, delivered or failed.")] = None,
    limit: int = 50,
    attempts: Annotated[bool, typer.Option("--attempts", help="Show every attempt of each message.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The organization's latest notifications and where they stand, one message per destination.

    Each ticket event is first queued as one "event" message, which a worker turns into one
    "slack" or "webhook" message per destination within moments: a pending "event" means that no
    worker has picked it up yet.
    """
    from telemetron.outbox.repository import attempts_of, list_messages

    if status not in (None, "pending", "delivered", "failed"):
        fail("--status is pending, delivered or failed")

    def unit(scoped):
        messages = list_messages(scoped, status=status, limit=limit)
        if attempts:
            for m in messages:
                m["attempt_log"] = attempts_of(scoped.conn, m["id"])
        return messages

    messages = scoped_read(org, unit)
    rows = [
        {"id": m["id"], "channel": m["channel"], "target": m["target"], "event": m["event"], "ticketId": m["ticket_id"],
         "status": m["status"],
         "attempts": m["attempts"], "nextAttemptAt": m["next_attempt_at"], "lastError": m["last_error"],
         "createdAt": m["created_at"], "deliveredAt": m["delivered_at"],
         **({"attemptLog": [{k: a[k] for k in ("started_at", "status_code", "outcome", "error", "duration_ms")}
                            for a in m["attempt_log"]]} if attempts else {})}
        for m in messages
    ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        to = f"{r['channel']} {r['target']}" if r["target"] else r["channel"]
        typer.echo(f"{r['id']:>6}  {r['status']:9}  {to:7}  {r['event']:24}  attempts {r['attempts']}"
                   + (f"  last error: {r['lastError']}" if r["lastError"] else ""))
        for a in r.get("attemptLog", []):
            typer.echo(f"          {a['started_at']}  {a['outcome']:9}  {a['status_code'] or '-'}  {a['error'] or ''}")


@outbox_app.command("retry")
def outbox_retry(org: OrgOption, message_id: Annotated[int, typer.Argument(help="The failed message's id.")]) -> None:
    """Send a failed message again (for another 24 hours of retries)."""
    from telemetron.notifications.deliveries import retry

    scoped_run(org, retry, message_id)
    typer.echo(f"message {message_id} will be sent again")


@worker_app.command("worker")
def worker(
    name: Annotated[Optional[str], typer.Option(help="Worker name in the attempt log (default host:pid).")] = None,
) -> None:
    """Deliver notifications (run as many as you like, on any machine, against one PostgreSQL)."""
    from telemetron.config import get_settings
    from telemetron.db.migrate import schema_problem
    from telemetron.outbox.worker import worker_from_settings

    settings = get_settings()
    problem = schema_problem(settings.database_url)
    if problem:
        fail(problem)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def main() -> None:
        db = open_db()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        w = worker_from_settings(db, settings, name=name, beside_api=False)
        logging.getLogger("telemetron.outbox").info("worker %s delivering", w.name)
        from telemetron.mail.imap_poll import poll_forever, server_categorizer

        imap = asyncio.create_task(poll_forever(db, settings, stop, server_categorizer(db)))  # mailboxes with IMAP
        try:
            await w.run(stop)
        finally:
            await imap
            db.dispose()

    asyncio.run(main())

