"""Sign-in throttling that holds under concurrency: an attempt is counted before its password is checked.

Each attempt first passes through one unit of work (``admit``) that atomically counts it, per
client address and per email, in ``signin_throttle`` (an ``UPDATE``/upsert that returns the new
count: on SQLite the writer is serialized, on PostgreSQL the row lock makes concurrent attempts of
any process wait and then see the new count and lock). Only then, outside any transaction, are
passwords checked. So however many attempts arrive at once, an email gets at most
``FREE_FAILURES`` checks before it locks, and a further one each time a lock runs out.

- Email (a member's or an unknown one, alike, so the answers tell nothing about who is a member):
  every attempt adds one to ``failures``, admitted or not. An attempt is admitted when the email is
  not locked; an admitted attempt that brings ``failures`` to ``FREE_FAILURES`` or more locks the
  email *before* its password is checked (for ``lock_delay``, doubling, capped at ``MAX_LOCK``).
  A correct password resets the count, but only if no other attempt came in meanwhile
  (``failures`` is still what this attempt saw): a right password inside a burst of guesses is
  answered like a wrong one, so a burst never signs in.
- Address: at most ``limit`` failed attempts per ``window`` from one client address (an IPv6
  client by its /64); a successful sign-in gives its attempt back. Slows password spraying
  across many accounts, which the per-email lock alone does not see.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from telemetron.db.tables import UTCDateTime, signin_throttle

FREE_FAILURES = 5
FIRST_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=15)
# Counters untouched for this long are purged (a member's lock never lasts longer than MAX_LOCK).
KEEP = timedelta(days=1)

_t = signin_throttle.c


def lock_delay(failures: int) -> timedelta:
    """How long an email stays locked after ``failures`` (at least FREE_FAILURES) attempts in a
    row: 30 s, doubling, at most 15 minutes. The exponent is capped first: no overflow, ever."""
    doublings = min(max(failures - FREE_FAILURES, 0), 16)
    return min(FIRST_LOCK * (1 << doublings), MAX_LOCK)


def email_key(email: str) -> str:
    """The email's counter: hashed, so the table keeps no list of the addresses people typed."""
    return "email:" + hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()


def address_key(address: str | None) -> str:
    """One counter per client address; IPv6 clients by their /64 (one host usually has the whole /64)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "addr:unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def _bump(insert):
    """Count one more attempt on ``key`` (creating its row), returning the new count and lock."""
    stmt = insert(signin_throttle).values(key=bindparam("key"), failures=1, updated_at=bindparam("now"))
    return stmt.on_conflict_do_update(
        index_elements=["key"], set_={"failures": _t.failures + 1, "updated_at": stmt.excluded.updated_at}
    ).returning(_t.failures, _t.locked_until)


def _bump_in_window(insert):
    """Like ``_bump``, but the count starts over when the row's window began before ``floor``."""
    stmt = insert(signin_throttle).values(key=bindparam("key"), failures=1, window_started_at=bindparam("now"),
                                          updated_at=bindparam("now"))
    expired = _t.window_started_at.is_(None) | (_t.window_started_at <= bindparam("floor", type_=UTCDateTime()))
    return stmt.on_conflict_do_update(index_elements=["key"], set_={
        "failures": case((expired, 1), else_=_t.failures + 1),
        "window_started_at": case((expired, stmt.excluded.window_started_at), else_=_t.window_started_at),
        "updated_at": stmt.excluded.updated_at,
    }).returning(_t.failures, _t.window_started_at)


_BUMP = {"sqlite": _bump(sqlite.insert), "postgresql": _bump(postgresql.insert)}
_BUMP_IN_WINDOW = {"sqlite": _bump_in_window(sqlite.insert), "postgresql": _bump_in_window(postgresql.insert)}
_LOCK = update(signin_throttle).where(_t.key == bindparam("k")).values(locked_until=bindparam("until"))
# Only if nothing else was counted since this attempt (see the module's docstring).
_RESET = (update(signin_throttle).where(_t.key == bindparam("k"), _t.failures == bindparam("seen"))
          .values(failures=0, locked_until=None))
_GIVE_BACK = (update(signin_throttle)
              .where(_t.key == bindparam("k"), _t.window_started_at == bindparam("window"), _t.failures > 0)
              .values(failures=_t.failures - 1))
_CLEAR = delete(signin_throttle).where(_t.key == bindparam("k"))
_PURGE = delete(signin_throttle).where(_t.updated_at < bindparam("before"))


@dataclass(frozen=True, slots=True)
class Gate:
    """What ``admit`` decided for one attempt: refused (with a message), or admitted with what it
    saw, which ``succeeded`` needs to reset the counters."""

    refused: str | None = None
    email_key: str = ""
    seen: int = 0
    address_key: str = ""
    window: datetime | None = None


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def admit(conn: Connection, *, key: str, address: str | None, now: datetime, limit: int,
          window: timedelta) -> Gate:
    """Count this attempt for its address, then for ``key`` (``email_key(email)``, or a member's
    second-factor counter); refuse it when either is over."""
    dialect = conn.dialect.name
    addr = address_key(address)
    count, started = conn.execute(_BUMP_IN_WINDOW[dialect], {"key": addr, "now": now, "floor": now - window}).one()
    if count > limit:
        return Gate(refused="Too many failed sign-ins from your network address. "
                            f"Try again in {_seconds(started + window - now)} seconds.")
    seen, locked_until = conn.execute(_BUMP[dialect], {"key": key, "now": now}).one()
    if locked_until is not None and locked_until > now:
        return Gate(refused="Too many failed sign-ins for this account. "
                            f"Try again in {_seconds(locked_until - now)} seconds.")
    if seen >= FREE_FAILURES:  # lock before the check, so that no concurrent attempt gets past
        conn.execute(_LOCK, {"k": key, "until": now + lock_delay(seen)})
    return Gate(email_key=key, seen=seen, address_key=addr, window=started)


def succeeded(conn: Connection, gate: Gate) -> bool:
    """The password was right: reset the email's count and give the address its attempt back.
    False when other attempts on the email came in meanwhile (then it counts as a failure)."""
    if conn.execute(_RESET, {"k": gate.email_key, "seen": gate.seen}).rowcount != 1:
        return False
    conn.execute(_GIVE_BACK, {"k": gate.address_key, "window": gate.window})
    return True


def clear_email(conn: Connection, email: str) -> None:
    """Unlock an email (an admin set a new password)."""
    conn.execute(_CLEAR, {"k": email_key(email)})


def purge(conn: Connection, now: datetime) -> None:
    conn.execute(_PURGE, {"before": now - KEEP})
