"""Signing in and out.

Sign-in is three steps so that the slow part holds no lock: count the attempt and read the email's
candidates (one unit of work, ``members.throttle.admit``: a refused attempt stops here), check the
password in a thread (scrypt), then, when it is right, reset the counters and create the session
in a second unit of work. The attempt is counted before the check, so a burst cannot get more
checks than the lock allows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import quote

from starlette.responses import Response

from telemetron import audit
from telemetron.clock import utcnow
from telemetron.customers.service import normalize_email
from telemetron.errors import AppError
from telemetron.members import auth, throttle, twofactor
from telemetron.web.pages import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Web,
    new_signin_csrf,
    page,
)

WRONG = "Wrong email or password."


def _safe_next(target: str) -> str:
    """Only a path on this site (never ``//host`` or ``/\\host``): no open redirect."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 2000:
        return target
    return "/tickets"


@page()
async def signin_form(web: Web) -> Response:
    if web.token and await web.db.run(auth.session_member, web.token) is not None:
        return web.redirect(_safe_next(web.request.query_params.get("next", "/tickets")))
    return _form(web, 200)


_NOTICES = {
    "ended": "Your session has ended, so what you just sent was not saved. Sign in again.",
    "signedout": "You are signed out.",
}


def _form(web: Web, status: int, *, error: str | None = None, email: str = "") -> Response:
    query = web.request.query_params
    notice = next((text for flag, text in _NOTICES.items() if query.get(flag) == "1"), None) if status == 200 else None
    return web.render("signin.html", status=status, csrf=new_signin_csrf(web), error=error, email=email,
                      done=notice, next=_safe_next(query.get("next", "/tickets")))


def admit(conn, web: Web, key: str) -> throttle.Gate:
    """Count an attempt on ``key`` (``throttle.email_key``...) from this client (``members.throttle``)."""
    settings = web.settings
    return throttle.admit(conn, key=key, address=web.client_address, now=utcnow(),
                          limit=settings.signin_address_limit,
                          window=timedelta(seconds=settings.signin_address_window_seconds))


def _admit(conn, web: Web, email: str) -> tuple[throttle.Gate, list[auth.Candidate]]:
    gate = admit(conn, web, throttle.email_key(email))
    return gate, [] if gate.refused else auth.signin_candidates(conn, email)


def _signed_in(conn, found: auth.Candidate, gate: throttle.Gate, email: str,
               address: str | None) -> tuple[str, str] | None:
    """(token, stage) of the new session: a full one, or one that still needs a code (totp) or
    two-factor set up (enrol); None when the attempt does not count (``auth.start_session``)."""
    stage = twofactor.stage_after_password(conn, found.organization_id, found.member_id)
    token = auth.start_session(conn, found, gate, utcnow(), stage)
    if token is None:
        return None
    if stage != "totp":  # with a code to come, the sign-in succeeds (and is logged) then
        audit.record(conn, found.organization_id, audit.Actor.member(found.member_id, email, address),
                     "signin.succeeded", {"email": email, **({"twoFactorSetupRequired": True} if stage == "enrol" else {})})
    return token, stage


def _failed(conn, candidates: list[auth.Candidate], gate: throttle.Gate, email: str, address: str | None) -> None:
    """In the log of each organization the email is a member of (an unknown email has none)."""
    for candidate in candidates:
        actor = audit.Actor("anonymous", email, None, address)
        audit.record(conn, candidate.organization_id, actor, "signin.failed", {"email": email, "memberId": candidate.member_id})
        if gate.seen >= throttle.FREE_FAILURES:
            seconds = int(throttle.lock_delay(gate.seen).total_seconds())
            audit.record(conn, candidate.organization_id, actor, "signin.locked",
                         {"email": email, "memberId": candidate.member_id, "attempts": gate.seen, "lockedForSeconds": seconds})


@page()
async def signin(web: Web) -> Response:
    raw_email, password = web.form.get("email").strip(), web.form.get("password")
    if not raw_email or not password:
        return _form(web, 400, error="Enter your email and your password.", email=raw_email)
    try:
        email = normalize_email(raw_email, field="email")
    except AppError:
        return _form(web, 400, error=f"'{raw_email}' is not an email address.", email=raw_email)
    if len(password) > auth.MAX_PASSWORD:
        return _form(web, 401, error=WRONG, email=raw_email)
    gate, candidates = await web.db.run(_admit, web, email)
    if gate.refused:
        return _form(web, 429, email=raw_email, error=gate.refused)
    found = await asyncio.to_thread(auth.find_signer, password, candidates)
    session = await web.db.run(_signed_in, found, gate, email, web.client_address) if found is not None else None
    if session is None:
        await web.db.run(_failed, candidates, gate, email, web.client_address)
        return _form(web, 401, error=WRONG, email=raw_email)
    token, stage = session
    web.cookies_to_set.append((SESSION_COOKIE, token, int(auth.ABSOLUTE.total_seconds())))
    web.cookies_to_delete.append(SIGNIN_COOKIE)
    target = _safe_next(web.form.get("next", "/tickets"))
    if stage == "totp":
        return web.redirect(f"/signin/code?next={quote(target, safe='/')}")
    return web.redirect("/account/2fa?required=1" if stage == "enrol" else target)


@page()
async def signout(web: Web) -> Response:
    await web.db.run(auth.end_session, web.token)
    web.cookies_to_delete.append(SESSION_COOKIE)
    return web.redirect("/signin?signedout=1")


@page()
async def home(web: Web) -> Response:
    return web.redirect("/tickets")
