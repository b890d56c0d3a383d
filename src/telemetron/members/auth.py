"""Members signing in to the web app: password hashes, sign-in throttling, and sessions.

Passwords are hashed with the standard library's scrypt (RFC 7914; n=2**14, r=8, p=1: 16 MiB and
~50 ms a hash here), with a random 16-byte salt, stored as ``scrypt$n$r$p$salt$hash``. Hashing is
deliberately slow, so it never runs inside a unit of work (on SQLite units run in the event loop's
thread, holding the write lock): callers hash or verify first, in a thread, and then store.

Sign-in throttling is per member, in the database (so every server process sees it): after
``FREE_FAILURES`` wrong passwords in a row, each further failure locks sign-in for that member for
a delay that doubles up to ``MAX_LOCK``. A correct password resets the count. An unknown email
costs the same scrypt time as a known one, and is locked out after as many failures
(``UnknownEmails``), so neither timing nor messages tell which emails are members.

Sessions: the cookie holds 32 random bytes; the table holds only their SHA-256 (the token is
high-entropy, so a fast hash is enough, as for API keys). Any server process can check a session
with one indexed lookup, without a shared signing secret, and deleting the row revokes it at once
everywhere. Sessions expire after ``IDLE`` without use and at the latest ``ABSOLUTE`` after
sign-in. The CSRF token of a session is derived from its token (``csrf_token``), so forms need no
stored secret either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, select, update

from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_delete
from telemetron.db.tables import member_sessions, members, organizations
from telemetron.enums import MEMBER_ROLES
from telemetron.errors import InvalidRequest

ROLES = MEMBER_ROLES  # the name members.service and the web app use
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024

FREE_FAILURES = 5
FIRST_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=15)

IDLE = timedelta(days=7)
ABSOLUTE = timedelta(days=30)
# Refreshing last_seen_at on every page would add a write to every read: once a minute is enough.
TOUCH_RESOLUTION = timedelta(minutes=1)


# --- passwords ------------------------------------------------------------------------------------


def check_password(password: str) -> str:
    """A password an admin may set: 10 to 1,024 characters (NIST SP 800-63B: length, no composition rules)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"The password must be at least {MIN_PASSWORD} characters long", field="password",
                             code="password_too_short")
    if len(password) > MAX_PASSWORD:
        raise InvalidRequest(f"The password must be at most {MAX_PASSWORD} characters long", field="password",
                             code="password_too_long")
    return password


def hash_password(password: str) -> str:
    """Slow (~50 ms): call outside any unit of work."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(("scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; a missing or malformed hash costs the same time and answers False."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        params, salt_bytes, expected = (int(n), int(r), int(p)), _unb64(salt), _unb64(digest)
    except ValueError:
        _scrypt(password, b"\0" * 16, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)  # same cost as a real check
        return False
    return hmac.compare_digest(_scrypt(password, salt_bytes, *params), expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p,
                          maxmem=_SCRYPT_MAXMEM, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- signing in -----------------------------------------------------------------------------------

_mc = members.c
# Sign-in is one of the two lookups that are not scoped (with the session's): the email is how
# the organization is found. An email may be a member of several organizations.
_CANDIDATES = (
    select(_mc.id, _mc.organization_id, _mc.password_hash, _mc.failed_signins, _mc.locked_until)
    .join_from(members, organizations, organizations.c.id == _mc.organization_id)
    .where(_mc.email == bindparam("email"), _mc.password_hash.is_not(None))
    .order_by(_mc.created_at)
    .limit(5)
)
_FAILED = (
    update(members)
    .where(_mc.id == bindparam("member_id"))
    .values(failed_signins=_mc.failed_signins + 1)
    .returning(_mc.failed_signins)
)
_LOCK = update(members).where(_mc.id == bindparam("member_id")).values(locked_until=bindparam("until"))
_SUCCEEDED = update(members).where(_mc.id == bindparam("member_id")).values(failed_signins=0, locked_until=None)


@dataclass(frozen=True, slots=True)
class Candidate:
    member_id: str
    organization_id: str
    password_hash: str
    locked_until: datetime | None


def signin_candidates(conn: Connection, email: str) -> list[Candidate]:
    """The members with this (normalized) email who have a password, oldest first."""
    return [Candidate(r.id, r.organization_id, r.password_hash, r.locked_until)
            for r in conn.execute(_CANDIDATES, {"email": email})]


def locked_for(candidates: list[Candidate], now: datetime) -> timedelta | None:
    """How long sign-in stays refused, when every candidate is locked (else None)."""
    if not candidates or any(c.locked_until is None or c.locked_until <= now for c in candidates):
        return None
    return min(c.locked_until for c in candidates) - now


def lock_delay(failures: int) -> timedelta:
    """How long sign-in is refused after ``failures`` (at least FREE_FAILURES) in a row."""
    return min(FIRST_LOCK * 2 ** (failures - FREE_FAILURES), MAX_LOCK)


class UnknownEmails:
    """Failures for emails that are nobody's, counted like a member's (in this process, at most
    ``LIMIT`` emails), so that the lockout message cannot tell a member's email from a stranger's."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, datetime | None]] = {}

    def locked_for(self, email: str, now: datetime) -> timedelta | None:
        _, until = self._failures.get(email, (0, None))
        return until - now if until is not None and until > now else None

    def record_failure(self, email: str, now: datetime) -> None:
        if len(self._failures) >= self.LIMIT:
            self._failures.clear()
        failures = self._failures.get(email, (0, None))[0] + 1
        until = now + lock_delay(failures) if failures >= FREE_FAILURES else None
        self._failures[email] = (failures, until)


unknown_emails = UnknownEmails()


def record_failure(conn: Connection, candidates: list[Candidate], now: datetime) -> None:
    for candidate in candidates:
        failures = conn.execute(_FAILED, {"member_id": candidate.member_id}).scalar_one()
        if failures >= FREE_FAILURES:
            delay = lock_delay(failures)
            conn.execute(_LOCK, {"member_id": candidate.member_id, "until": now + delay})


# --- sessions -------------------------------------------------------------------------------------

_sc = member_sessions.c
_INSERT_SESSION = member_sessions.insert()
_SESSION = (
    select(_sc.member_id, _sc.organization_id, _sc.created_at, _sc.last_seen_at, _mc.email, _mc.name, _mc.role,
           organizations.c.name.label("organization_name"))
    .join_from(member_sessions, members, (_mc.id == _sc.member_id) & (_mc.organization_id == _sc.organization_id))
    .join(organizations, organizations.c.id == _sc.organization_id)
    .where(_sc.token_hash == bindparam("token_hash"), _sc.expires_at > bindparam("now"))
)
_TOUCH_SESSION = (  # (bound names must differ from column names in an UPDATE)
    update(member_sessions)
    .where(_sc.token_hash == bindparam("session_hash"))
    .values(last_seen_at=bindparam("seen"), expires_at=bindparam("until"))
)
_DELETE_SESSION = delete(member_sessions).where(_sc.token_hash == bindparam("token_hash"))
_DELETE_EXPIRED = delete(member_sessions).where(_sc.expires_at <= bindparam("now"))
_DELETE_MEMBER_SESSIONS = tenant_delete(member_sessions).where(_sc.member_id == bindparam("member_id"))


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The member a request acts for, as its session says."""

    member_id: str
    organization_id: str
    organization_name: str
    email: str
    name: str
    role: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of the session ``token``: derived from it, so nothing more is stored or shared."""
    return hashlib.sha256(b"telemetron-csrf\0" + token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def start_session(conn: Connection, candidate: Candidate, now: datetime) -> str:
    """Reset the member's failure count, create a session, drop expired ones; returns the cookie token."""
    conn.execute(_SUCCEEDED, {"member_id": candidate.member_id})
    conn.execute(_DELETE_EXPIRED, {"now": now})
    token = secrets.token_urlsafe(32)
    conn.execute(_INSERT_SESSION, {
        "token_hash": _token_hash(token), "organization_id": candidate.organization_id,
        "member_id": candidate.member_id, "created_at": now, "last_seen_at": now, "expires_at": now + IDLE,
    })
    return token


def session_member(conn: Connection, token: str | None) -> SignedIn | None:
    """The member signed in with ``token``, or None (no such session, expired, or revoked)."""
    if not token or len(token) > 128:
        return None
    now = utcnow()
    token_hash = _token_hash(token)
    row = conn.execute(_SESSION, {"token_hash": token_hash, "now": now}).first()
    if row is None:
        return None
    if now - row.last_seen_at > TOUCH_RESOLUTION:
        conn.execute(_TOUCH_SESSION, {"session_hash": token_hash, "seen": now,
                                      "until": min(now + IDLE, row.created_at + ABSOLUTE)})
    return SignedIn(row.member_id, row.organization_id, row.organization_name, row.email, row.name, row.role,
                    csrf_token(token))


def end_session(conn: Connection, token: str | None) -> None:
    if token:
        conn.execute(_DELETE_SESSION, {"token_hash": _token_hash(token)})


def end_member_sessions(scoped: Scoped, member_id: str) -> None:
    """Sign the member out everywhere (a new password, a lost laptop)."""
    scoped.execute(_DELETE_MEMBER_SESSIONS, {"member_id": member_id})
