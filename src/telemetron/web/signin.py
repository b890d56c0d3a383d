"""Signing in and out.

Sign-in is three steps so that the slow part holds no lock: read the email's candidates (one
unit of work), check the password in a thread (scrypt, ~50 ms), then record the outcome (a
session, or a failure that may lock the account for a while) in a second unit of work.
"""

from __future__ import annotations

import asyncio
import math

from starlette.responses import Response

from telemetron.clock import utcnow
from telemetron.customers.service import normalize_email
from telemetron.errors import AppError
from telemetron.members import auth
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


def _verify(password: str, candidates: list[auth.Candidate]) -> auth.Candidate | None:
    if not candidates:
        auth.verify_password(password, None)  # an unknown email takes as long as a known one
        return None
    for candidate in candidates:
        if auth.verify_password(password, candidate.password_hash):
            return candidate
    return None


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
    candidates = await web.db.run(auth.signin_candidates, email)
    now = utcnow()
    locked = auth.locked_for(candidates, now) if candidates else auth.unknown_emails.locked_for(email, now)
    if locked is not None:
        seconds = math.ceil(locked.total_seconds())
        return _form(web, 429, email=raw_email,
                     error=f"Too many failed sign-ins for this account. Try again in {seconds} seconds.")
    found = await asyncio.to_thread(_verify, password, candidates)
    if found is None:
        if candidates:
            await web.db.run(auth.record_failure, candidates, now)
        else:
            auth.unknown_emails.record_failure(email, now)
        return _form(web, 401, error=WRONG, email=raw_email)
    token = await web.db.run(auth.start_session, found, utcnow())
    web.cookies_to_set.append((SESSION_COOKIE, token, int(auth.ABSOLUTE.total_seconds())))
    web.cookies_to_delete.append(SIGNIN_COOKIE)
    return web.redirect(_safe_next(web.form.get("next", "/tickets")))


@page()
async def signout(web: Web) -> Response:
    await web.db.run(auth.end_session, web.token)
    web.cookies_to_delete.append(SESSION_COOKIE)
    return web.redirect("/signin?signedout=1")


@page()
async def home(web: Web) -> Response:
    return web.redirect("/tickets")
