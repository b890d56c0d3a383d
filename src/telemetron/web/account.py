"""The member's own account page: change one's password (and, with ``web.twofactor``, two-factor sign-in).

Changing the password asks for the current one, checked like a sign-in: counted first for the
email and the client address (``members.throttle``), so a stolen session cannot be used to guess
it. The new password follows the same rule as everywhere (``members.auth.check_password``); every
other session of the member is signed out, this one stays.
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response

from telemetron.errors import AppError
from telemetron.members import auth, throttle, twofactor
from telemetron.members import service as members
from telemetron.web.pages import Web, page
from telemetron.web.signin import admit

DONE = {"password-changed": "Password changed. Your other sessions were signed out."}


class WrongCurrentPassword(AppError):
    status = 400
    code = "wrong_password"


def _account(scoped, member) -> dict:
    return {"me": members.get_member(scoped, member.member_id),
            "two_factor": twofactor.state(scoped, member.member_id)["enabled"]}


async def _page(web: Web, status: int = 200, error: str | None = None) -> Response:
    context = await web.run(_account)
    done = DONE.get(web.request.query_params.get("done", "")) if status == 200 else None
    return web.render("account.html", status=status, error=error, done=done, **context)


account = page()(_page)


def _admit(scoped, member, web: Web) -> tuple[throttle.Gate, str | None]:
    gate = admit(scoped.conn, web, throttle.email_key(member.email))
    return gate, None if gate.refused else auth.password_hash_of(scoped, member.member_id)


def _save(scoped, member, gate: throttle.Gate, new_hash: str, token: str | None) -> None:
    if not throttle.succeeded(scoped.conn, gate):  # other attempts on this email meanwhile
        raise WrongCurrentPassword("The current password is wrong.")
    members.set_password_hash(scoped, member.member_id, new_hash, keep_token=token)


@page()
async def change_password(web: Web) -> Response:
    form = web.form
    current, new = form.get("current_password"), form.get("new_password")
    if not current or not new:
        return await _page(web, 400, "Enter your current password and a new one.")
    if new != form.get("new_password_again"):
        return await _page(web, 400, "The two new passwords differ.")
    await web.run(lambda scoped, member: None)  # signed in, before any slow work
    try:
        new_hash = await asyncio.to_thread(auth.checked_hash, new, (web.signed_in.email, web.signed_in.name))
        gate, stored = await web.run(_admit, web)
        if gate.refused:
            return await _page(web, 429, gate.refused)
        if not await asyncio.to_thread(auth.verify_password, current, stored):
            raise WrongCurrentPassword("The current password is wrong.")
        await web.run(_save, gate, new_hash, web.token)
    except AppError as exc:
        return await _page(web, exc.status, exc.message)
    return web.redirect("/account?done=password-changed")
