"""Two-factor sign-in pages: the code after the password, setting it up and turning it off, and
the admins' switch that requires it (``members.twofactor`` does the work).

After a right password, a member with two-factor on holds a session at stage ``totp`` that opens
only ``/signin/code``; one whose organization requires two-factor and who has none holds a session
at stage ``enrol`` that opens only ``/account/2fa`` until it is set up. A code attempt is counted
(per member and per client address, ``members.throttle``) in the same unit of work that checks
it, so codes are locked out like passwords.
"""

from __future__ import annotations

from starlette.responses import Response

from telemetron import audit
from telemetron.clock import utcnow
from telemetron.errors import AppError
from telemetron.members import auth, throttle, twofactor
from telemetron.web.pages import Web, page
from telemetron.web.signin import _safe_next, admit

WRONG_CODE = "That code is not right (or was used already). Type the code your app shows now, or a recovery code."
DONE = {"disabled": "Two-factor sign-in is off.", "required-on": "Two-factor sign-in is now required in this organization.",
        "required-off": "Two-factor sign-in is no longer required."}


# --- the code after the password ------------------------------------------------------------------


def _code_form(web: Web, status: int = 200, error: str | None = None) -> Response:
    return web.render("signin_code.html", status=status, error=error, csrf=web.signed_in.csrf,
                      next=_safe_next(web.request.query_params.get("next") or web.form.get("next", "/tickets")))


@page(stages=("totp",))
async def code_form(web: Web) -> Response:
    await web.run(lambda scoped, member: None)
    return _code_form(web)


def _check_code(scoped, member, web: Web, code: str) -> str | None:
    """None when signed in; otherwise what to tell the person (the attempt is counted either way)."""
    gate = admit(scoped.conn, web, twofactor.throttle_key(member.member_id))
    if gate.refused:
        return gate.refused
    now = utcnow()
    kind = twofactor.check(scoped, member.member_id, code, now)
    actor = scoped.actor
    if kind is None:
        audit.record_scoped(scoped, "signin.code_failed", {"email": member.email})
        if gate.seen >= throttle.FREE_FAILURES:
            audit.record_scoped(scoped, "signin.locked", {"email": member.email, "factor": "code", "attempts": gate.seen,
                                                          "lockedForSeconds": int(throttle.lock_delay(gate.seen).total_seconds())})
        return WRONG_CODE
    throttle.succeeded(scoped.conn, gate)
    auth.promote_session(scoped.conn, web.token or "", "totp", now)
    audit.record(scoped.conn, scoped.org_id, actor, "signin.succeeded", {"email": member.email, "secondFactor": kind})
    return None


@page(stages=("totp",))
async def code(web: Web) -> Response:
    problem = await web.run(_check_code, web, web.form.get("code").strip())
    if problem is not None:
        return _code_form(web, 429 if problem.startswith("Too many") else 401, problem)
    return web.redirect(_safe_next(web.form.get("next", "/tickets")))


# --- setting it up, turning it off ----------------------------------------------------------------


def _setup_context(scoped, member) -> dict:
    state = twofactor.state(scoped, member.member_id)
    qr = (twofactor.qr_svg(state["pending_secret"], member.email, member.organization_name)
          if state["pending_secret"] else None)
    return {**state, "qr": qr, "required": twofactor.required(scoped.conn, scoped.org_id)}


async def _setup_page(web: Web, status: int = 200, error: str | None = None, codes: list[str] | None = None) -> Response:
    context = await web.run(_setup_context)
    done = DONE.get(web.request.query_params.get("done", "")) if status == 200 else None
    return web.render("account_2fa.html", status=status, error=error, done=done, codes=codes, csrf=web.signed_in.csrf,
                      stage=web.signed_in.stage, **context)


setup_page = page(stages=("full", "enrol"))(_setup_page)


@page(stages=("full", "enrol"))
async def setup(web: Web) -> Response:
    await web.run(lambda scoped, member: twofactor.start(scoped, member.member_id))
    return web.redirect("/account/2fa")


def _enable(scoped, member, code: str, token: str) -> list[str]:
    now = utcnow()
    codes = twofactor.enable(scoped, member.member_id, code, now)
    if member.stage == "enrol":
        auth.promote_session(scoped.conn, token, "enrol", now)
    return codes


@page(stages=("full", "enrol"))
async def enable(web: Web) -> Response:
    try:
        codes = await web.run(_enable, web.form.get("code").strip(), web.token)
    except AppError as exc:
        return await _setup_page(web, exc.status, exc.message)
    # Shown in this response only (no redirect: the codes must not be shown again).
    return await _setup_page(web, 200, None, codes)


def _disable(scoped, member, web: Web, code: str) -> tuple[int, str] | None:
    """None when turned off; otherwise (status, message). Returns rather than raises so that the
    counted attempt is kept (a raise would roll it back)."""
    gate = admit(scoped.conn, web, twofactor.throttle_key(member.member_id))
    if gate.refused:
        return 429, gate.refused
    if twofactor.check(scoped, member.member_id, code, utcnow()) is None:
        return 400, WRONG_CODE
    throttle.succeeded(scoped.conn, gate)
    twofactor.disable(scoped, member.member_id)  # (409 when required: all of it rolls back)
    return None


@page()
async def disable(web: Web) -> Response:
    try:
        problem = await web.run(_disable, web, web.form.get("code").strip())
    except AppError as exc:
        return await _setup_page(web, exc.status, exc.message)
    if problem is not None:
        return await _setup_page(web, *problem)
    return web.redirect("/account/2fa?done=disabled")


@page(admin_only=True)
async def require(web: Web) -> Response:
    value = web.form.get("required") == "yes"
    await web.run(lambda scoped, member: twofactor.set_required(scoped, value))
    return web.redirect(f"/admin/members?done=required-{'on' if value else 'off'}")
