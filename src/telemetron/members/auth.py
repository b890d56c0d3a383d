"""Members signing in to the web app: password hashes, sign-in throttling, and sessions.

Passwords are hashed with the standard library's scrypt (RFC 7914; n=2**14, r=8, p=1: 16 MiB and
~50 ms a hash here), with a random 16-byte salt, stored as ``scrypt$n$r$p$salt$hash``. Hashing is
deliberately slow, so it never runs inside a unit of work (on SQLite units run in the event loop's
thread, holding the write lock): callers hash or verify first, in a thread, and then store.

Sign-in throttling (per email and per client address, counted before any password is checked, so
that it holds under concurrency) is in ``members.throttle``. Every sign-in checks the password
against ``MAX_CANDIDATES`` hashes, real or not (``find_signer``), so the time tells nothing about
whether, and in how many organizations, an email is a member.

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
from zxcvbn import zxcvbn

from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_delete, tenant_select
from telemetron.db.tables import member_sessions, members, organizations
from telemetron.enums import MEMBER_ROLES
from telemetron.errors import InvalidRequest
from telemetron.members import throttle

ROLES = MEMBER_ROLES  # the name members.service and the web app use
MIN_PASSWORD = 12
# zxcvbn's score (0-4) a password needs, judged on its first _JUDGED characters (beyond that zxcvbn
# gets slow, and such a password is long anyway).
MIN_SCORE = 3
_JUDGED = 72
MAX_PASSWORD = 1024
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024

# The organizations one email can sign in to (its oldest memberships), and so the number of
# password checks every sign-in costs.
MAX_CANDIDATES = 5

IDLE = timedelta(days=7)
ABSOLUTE = timedelta(days=30)
# Refreshing last_seen_at on every page would add a write to every read: once a minute is enough.
TOUCH_RESOLUTION = timedelta(minutes=1)


# --- passwords ------------------------------------------------------------------------------------


def check_password(password: str, *, user_inputs: tuple[str, ...] = ()) -> str:
    """A password a member may have: 12 to 1,024 characters, and not common or guessable (NIST SP
    800-63B: length and a check against known passwords, no composition rules). zxcvbn's bundled
    lists (common passwords, words, names) and patterns (repeats, sequences, keyboard rows, dates)
    judge its first 72 characters, with the member's own email and name counted as known words;
    anything scoring under 3 ("safely unguessable") is refused with its advice. Up to ~0.1 s of
    CPU: call it outside any unit of work."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"The password must be at least {MIN_PASSWORD} characters long", field="password",
                             code="password_too_short")
    if len(password) > MAX_PASSWORD:
        raise InvalidRequest(f"The password must be at most {MAX_PASSWORD} characters long", field="password",
                             code="password_too_long")
    words = [part for text in user_inputs if text for part in (text, *text.replace("@", " ").replace(".", " ").split())]
    verdict = zxcvbn(password[:_JUDGED], user_inputs=words, max_length=_JUDGED)
    if verdict["score"] < MIN_SCORE:
        advice = verdict["feedback"]["warning"] or "It is too easy to guess."
        raise InvalidRequest(f"This password is too common or easy to guess: {advice.rstrip('.')}. "
                             "Use a few unrelated words or a password manager.", field="password",
                             code="password_too_common")
    return password


def checked_hash(password: str, user_inputs: tuple[str, ...] = ()) -> str:
    """``check_password`` then ``hash_password``: both slow, for one thread."""
    return hash_password(check_password(password, user_inputs=user_inputs))


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
    select(_mc.id, _mc.organization_id, _mc.password_hash)
    .join_from(members, organizations, organizations.c.id == _mc.organization_id)
    .where(_mc.email == bindparam("email"), _mc.password_hash.is_not(None))
    .order_by(_mc.created_at)
    .limit(MAX_CANDIDATES)
)


@dataclass(frozen=True, slots=True)
class Candidate:
    member_id: str
    organization_id: str
    password_hash: str


def signin_candidates(conn: Connection, email: str) -> list[Candidate]:
    """The members with this (normalized) email who have a password, oldest first."""
    return [Candidate(r.id, r.organization_id, r.password_hash) for r in conn.execute(_CANDIDATES, {"email": email})]


def find_signer(password: str, candidates: list[Candidate]) -> Candidate | None:
    """The first candidate whose password this is. Always ``MAX_CANDIDATES`` scrypt checks, whether
    the email is nobody's, one organization's or several's: the time tells nothing (slow: call
    outside any unit of work)."""
    found = None
    for i in range(MAX_CANDIDATES):
        stored = candidates[i].password_hash if i < len(candidates) else None
        if verify_password(password, stored) and found is None:
            found = candidates[i]
    return found


# --- sessions -------------------------------------------------------------------------------------

_sc = member_sessions.c
_INSERT_SESSION = member_sessions.insert()
_SESSION = (
    select(_sc.member_id, _sc.organization_id, _sc.created_at, _sc.last_seen_at, _sc.stage, _mc.email, _mc.name,
           _mc.role, organizations.c.name.label("organization_name"))
    .join_from(member_sessions, members, (_mc.id == _sc.member_id) & (_mc.organization_id == _sc.organization_id))
    .join(organizations, organizations.c.id == _sc.organization_id)
    .where(_sc.token_hash == bindparam("token_hash"), _sc.expires_at > bindparam("now"))
)
_TOUCH_SESSION = (  # (bound names must differ from column names in an UPDATE)
    update(member_sessions)
    .where(_sc.token_hash == bindparam("session_hash"))
    .values(last_seen_at=bindparam("seen"), expires_at=bindparam("until"))
)
_PROMOTE_SESSION = (update(member_sessions)
                    .where(_sc.token_hash == bindparam("session_hash"), _sc.stage == bindparam("from_stage"))
                    .values(stage="full", expires_at=bindparam("until"), last_seen_at=bindparam("seen")))
_DELETE_SESSION = delete(member_sessions).where(_sc.token_hash == bindparam("token_hash"))
_DELETE_EXPIRED = delete(member_sessions).where(_sc.expires_at <= bindparam("now"))
_DELETE_MEMBER_SESSIONS = tenant_delete(member_sessions).where(_sc.member_id == bindparam("member_id"),
                                                                _sc.token_hash != bindparam("keep"))


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
    # full, or a sign-in half-way: totp (a code is needed) | enrol (two-factor must be set up)
    stage: str = "full"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of the session ``token``: derived from it, so nothing more is stored or shared."""
    return hashlib.sha256(b"telemetron-csrf\0" + token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# A session half-way through signing in (``stage`` not full) lasts this long.
PENDING = timedelta(minutes=10)


def start_session(conn: Connection, candidate: Candidate, gate: throttle.Gate, now: datetime,
                  stage: str = "full") -> str | None:
    """Reset the sign-in counters, create a session, drop expired ones; returns the cookie token,
    or None when other attempts on this email came in meanwhile (``throttle.succeeded``).
    A session of another ``stage`` than full opens only the two-factor pages, for ``PENDING``."""
    if not throttle.succeeded(conn, gate):
        return None
    conn.execute(_DELETE_EXPIRED, {"now": now})
    throttle.purge(conn, now)
    token = secrets.token_urlsafe(32)
    conn.execute(_INSERT_SESSION, {
        "token_hash": _token_hash(token), "organization_id": candidate.organization_id,
        "member_id": candidate.member_id, "created_at": now, "last_seen_at": now,
        "expires_at": now + (IDLE if stage == "full" else PENDING), "stage": stage,
    })
    return token


def promote_session(conn: Connection, token: str, from_stage: str, now: datetime) -> bool:
    """The second factor is done: the session becomes a full one (False: it was not at ``from_stage``)."""
    return conn.execute(_PROMOTE_SESSION, {"session_hash": _token_hash(token), "from_stage": from_stage,
                                           "until": now + IDLE, "seen": now}).rowcount == 1


def session_member(conn: Connection, token: str | None, stages: tuple[str, ...] = ("full",)) -> SignedIn | None:
    """The member signed in with ``token``, or None (no such session, expired, revoked, or at
    none of ``stages``: a half-done sign-in opens only the pages that finish it)."""
    if not token or len(token) > 128:
        return None
    now = utcnow()
    token_hash = _token_hash(token)
    row = conn.execute(_SESSION, {"token_hash": token_hash, "now": now}).first()
    if row is None or row.stage not in stages:
        return None
    if row.stage == "full" and now - row.last_seen_at > TOUCH_RESOLUTION:
        conn.execute(_TOUCH_SESSION, {"session_hash": token_hash, "seen": now,
                                      "until": min(now + IDLE, row.created_at + ABSOLUTE)})
    return SignedIn(row.member_id, row.organization_id, row.organization_name, row.email, row.name, row.role,
                    csrf_token(token), row.stage)


def end_session(conn: Connection, token: str | None) -> None:
    if token:
        conn.execute(_DELETE_SESSION, {"token_hash": _token_hash(token)})


def end_member_sessions(scoped: Scoped, member_id: str, *, keep_token: str | None = None) -> None:
    """Sign the member out everywhere (a new password, a lost laptop), except the session
    ``keep_token`` (the one that changed its own password)."""
    scoped.execute(_DELETE_MEMBER_SESSIONS, {"member_id": member_id, "keep": _token_hash(keep_token or "")})


_PASSWORD_HASH = tenant_select(members, _mc.password_hash).where(_mc.id == bindparam("member_id"))


def password_hash_of(scoped: Scoped, member_id: str) -> str | None:
    return scoped.execute(_PASSWORD_HASH, {"member_id": member_id}).scalar_one_or_none()
