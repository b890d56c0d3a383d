"""IMAP polling by the delivery worker: every mailbox with an IMAP URL is read, in IDLE where the
server offers it (else polled every ``mail_poll_seconds``).

A mail is marked seen only after ``inbound.receive`` committed it (or decided to drop it): a crash
in between leaves it unseen, and reading it again makes nothing twice (its Message-ID is stored
once). Any number of workers may poll one mailbox for the same reason. imap-tools is synchronous:
each IMAP step runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import compat32
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from telemetron.db.engine import Database
from telemetron.db.tables import mailboxes
from telemetron.mail import inbound
from telemetron.mail.mailboxes import connection_url
from telemetron.mail.parse import message_ids

logger = logging.getLogger("telemetron.mail")
MAX_PER_ROUND = 200  # mails read per round: a huge backlog is read in slices, each committed
CONCURRENCY = 8  # mails stored at once (each is its own transaction)
IDLE_SECONDS = 5.0  # one IDLE lasts at most this: a stopping worker waits for it
_UID = re.compile(rb"UID (\d+)")
_HEADERS = BytesParser(policy=compat32)


@dataclass(frozen=True, slots=True)
class ImapTarget:
    host: str
    port: int
    scheme: str
    user: str
    password: str
    folder: str


def target_of(url: str) -> ImapTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapTarget(parts.hostname or "", parts.port or (993 if scheme == "imaps" else 143), scheme,
                      unquote(parts.username or ""), unquote(parts.password or ""), folder)


def connect(target: ImapTarget, timeout: float = 30.0):
    from imap_tools import MailBox, MailBoxUnencrypted

    box = (MailBox(target.host, target.port, timeout=timeout) if target.scheme == "imaps"
           else MailBoxUnencrypted(target.host, target.port, timeout=timeout))
    return box.login(target.user, target.password, initial_folder=target.folder)


def unseen(box, limit: int = MAX_PER_ROUND) -> list[tuple[str, bytes]]:
    """(uid, raw mail) of unseen mails, oldest first, read in one FETCH without setting \\Seen (BODY.PEEK)."""
    uids = box.uids("UNSEEN")[:limit]
    if not uids:
        return []
    typ, data = box.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
    found = {}
    for part in data if typ == "OK" else []:
        if isinstance(part, tuple) and (uid := _UID.search(part[0])):
            found[uid.group(1).decode()] = part[1]
    return [(uid, found[uid]) for uid in uids if uid in found]


def mark_seen(box, uids: list[str]) -> None:
    from imap_tools import MailMessageFlags

    if uids:
        box.flag(uids, MailMessageFlags.SEEN, True)


def _thread_ids(raw: bytes) -> tuple[str | None, set[str]]:
    """The mail's Message-ID and the ids it answers, from its headers alone (cheap)."""
    headers = _HEADERS.parsebytes(raw, headersonly=True)
    own = message_ids(headers.get("Message-ID"))
    answers = set(message_ids(headers.get("In-Reply-To"))) | set(message_ids(headers.get("References")))
    return (own[0] if own else None), answers


async def poll_once(db: Database, settings, box, mailbox: dict, categorize) -> int:
    """Read the unseen mails into tickets, several at once; a reply to a mail of the same round
    waits for that mail (so it threads to its ticket). Marked seen once stored; returns how many."""
    mails = await asyncio.to_thread(unseen, box)
    limit = asyncio.Semaphore(CONCURRENCY)
    by_id: dict[str, asyncio.Task] = {}

    async def one(uid: str, raw: bytes, before: list[asyncio.Task]) -> str | None:
        if before:
            await asyncio.gather(*before, return_exceptions=True)
        async with limit:
            try:
                await inbound.receive(db, settings, mailbox, raw, categorize=categorize)
            except Exception as exc:  # left unseen: tried again next round
                logger.warning("mailbox %s: mail uid %s not stored (%s); it stays unseen", mailbox["address"], uid,
                               getattr(exc, "message", type(exc).__name__))
                return None
        return uid

    tasks = []
    for uid, raw in mails:
        own, answers = _thread_ids(raw)
        # After the mails it answers, and after an earlier copy of itself (then it is a duplicate).
        waits = answers | {own} if own else answers
        task = asyncio.create_task(one(uid, raw, [by_id[a] for a in waits if a in by_id]))
        if own:
            by_id.setdefault(own, task)
        tasks.append(task)
    stored = [uid for uid in await asyncio.gather(*tasks) if uid is not None]
    await asyncio.to_thread(mark_seen, box, stored)
    return len(stored)


async def watch(db: Database, settings, mailbox: dict, categorize, stop: asyncio.Event) -> None:
    """Keep one mailbox read until ``stop``: reconnect with backoff after any failure."""
    failures = 0
    while not stop.is_set():
        box = None
        try:
            box = await asyncio.to_thread(connect, target_of(connection_url(mailbox, "imap_url") or ""))
            failures = 0
            idle = b"IDLE" in {c.encode() if isinstance(c, str) else c for c in box.client.capabilities}
            while not stop.is_set():
                await poll_once(db, settings, box, mailbox, categorize)
                if idle:  # woken by the server as mail arrives; renewed every few seconds so a stop is prompt
                    await asyncio.to_thread(box.idle.wait, min(settings.mail_poll_seconds, IDLE_SECONDS))
                else:
                    await _sleep(stop, settings.mail_poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            # The exception's text never goes to the log whole: an IMAP error can echo the login.
            logger.warning("mailbox %s: IMAP failed (%s); retrying", mailbox["address"], type(exc).__name__)
            await _sleep(stop, min(300.0, settings.mail_poll_seconds * 2 ** min(failures, 8)))
        finally:
            if box is not None:
                await asyncio.to_thread(_logout, box)


def _logout(box) -> None:
    try:
        box.logout()
    except Exception:
        pass


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def _imap_mailboxes(conn) -> list[dict]:
    """Every organization's mailboxes with IMAP (maintenance across organizations, like claims)."""
    return [dict(r) for r in conn.execute(select(mailboxes).where(mailboxes.c.imap_url.is_not(None))).mappings()]


async def poll_forever(db: Database, settings, stop: asyncio.Event, categorize) -> None:
    """One ``watch`` per mailbox with an IMAP URL, following additions, changes and removals."""
    watching: dict[str, tuple[str, asyncio.Task, asyncio.Event]] = {}
    try:
        while not stop.is_set():
            try:
                rows = await db.run(_imap_mailboxes)
            except Exception:
                logger.exception("listing IMAP mailboxes failed")
                rows = None
            if rows is not None:
                _follow(db, settings, rows, watching, categorize)
            await _sleep(stop, max(1.0, min(settings.mail_poll_seconds, 30.0)))
    finally:
        for _version, _task, task_stop in watching.values():
            task_stop.set()
        for _version, task, _stop in watching.values():
            try:
                await asyncio.wait_for(task, timeout=IDLE_SECONDS + 5)
            except (TimeoutError, asyncio.CancelledError, Exception):
                task.cancel()


def _follow(db, settings, rows: list[dict], watching: dict, categorize) -> None:
    current = {r["id"]: r for r in rows}
    for mailbox_id in list(watching):
        version, task, task_stop = watching[mailbox_id]
        row = current.get(mailbox_id)
        if row is None or _version(row) != version or task.done():
            task_stop.set()
            del watching[mailbox_id]
    for mailbox_id, row in current.items():
        if mailbox_id not in watching:
            task_stop = asyncio.Event()
            task = asyncio.create_task(watch(db, settings, row, categorize, task_stop))
            watching[mailbox_id] = (_version(row), task, task_stop)


def _version(row: dict) -> str:
    return hashlib.sha256(f"{row['imap_url']}|{row['address']}".encode()).hexdigest()


def server_categorizer(db: Database, ctx=None):
    """``categorize(question)`` for new email tickets: createTicket's own (LLM if configured, else the
    batched offline categorizer); a ``telemetron worker`` without the API gets a categorizer of its own."""
    from types import SimpleNamespace

    from telemetron.api.create_ticket import categorize

    if ctx is None:
        from telemetron.triage.runtime import Categorizer

        ctx = SimpleNamespace(categorizer=Categorizer(db), http=lambda: None, llm=None)
    return lambda question: categorize(ctx, question)
