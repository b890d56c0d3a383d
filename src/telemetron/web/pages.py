"""What every page of the web app shares: templates, the signed-in member, forms, CSRF, error pages.

A handler is ``async def handler(web: Web) -> Response`` wrapped in ``@page(...)``. It reads the
request, runs one unit of work with ``web.run(fn, ...)`` (the session is checked in that same
transaction, then ``fn(scoped, member, ...)`` runs scoped to the member's organization through
``db.scoped``), and renders a template. ``page`` turns what can go wrong into pages a person can
read: not signed in -> the sign-in page; an ``AppError`` -> its status with its message (another
organization's ticket is a 404 like any missing one); anything else -> a 500 page naming the
request id under which the cause is logged, never a stack trace.

CSRF: every POST carries a ``csrf`` field equal to the session's CSRF token, derived from the
session cookie's token (``members.auth.csrf_token``); the sign-in form, which has no session yet,
uses a double-submit cookie. The cookies are HttpOnly and SameSite=Lax (Secure over HTTPS).
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from telemetron.audit import Actor
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.errors import AppError, InvalidRequest, PayloadTooLarge
from telemetron.members.auth import SignedIn, csrf_token, session_member

logger = logging.getLogger("telemetron.web")
ResponseT = TypeVar("ResponseT", bound=Response)

SESSION_COOKIE = "telemetron_session"
SIGNIN_COOKIE = "telemetron_signin"
MAX_FORM_FIELDS = 1000
HERE = Path(__file__).parent
STATIC = HERE / "static"

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)



def _when(value: Any) -> str:
    """A time as agents read it: ``2026-11-25 14:58 UTC`` (from a datetime or an ISO string)."""
    from datetime import datetime

    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _label(value: Any) -> str:
    """``waiting_for_customer`` -> ``Waiting for customer``."""
    return str(value or "").replace("_", " ").capitalize()


templates.filters["when"] = _when


def _ago(value: Any, now: Any = None) -> str:
    """A time relative to now as agents read a queue: ``just now``, ``3 min ago``, ``5 h ago``,
    ``2 days ago``; past a month, the date (the exact time goes in a ``title``, from ``when``)."""
    from datetime import UTC, datetime

    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    for limit, unit, size in ((60, "", 1), (3600, "min", 60), (86400, "h", 3600), (31 * 86400, "day", 86400)):
        if seconds < limit:
            if not unit:
                return "just now"
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return value.strftime("%Y-%m-%d")


templates.filters["ago"] = _ago
templates.filters["label"] = _label

# No inline script or style anywhere: the policy forbids them, which defuses most injected markup.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show tickets and, once, new API keys: no cache keeps a copy.
    "Cache-Control": "no-store",
}


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class SignInRequired(Exception):
    """No valid session: the handler answers with the sign-in page."""


class Form:
    """An ``application/x-www-form-urlencoded`` body: first value or all values of a field."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        for key, value in self._pairs:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self._pairs)


class Web:
    """One request to the web app: the request, its form, the member once known, and rendering."""

    def __init__(self, request: Request, *, admin_only: bool, stages: tuple[str, ...] = ("full",)) -> None:
        self.request = request
        self.admin_only = admin_only
        self.stages = stages  # the session stages this page opens to (members.auth.session_member)
        self.member: SignedIn | None = None
        self.form = Form([])
        self.cookies_to_set: list[tuple[str, str, int]] = []
        self.cookies_to_delete: list[str] = []

    @property
    def db(self) -> Database:
        return self.request.app.state.ctx.db

    @property
    def settings(self):
        return self.request.app.state.ctx.settings

    @property
    def token(self) -> str | None:
        return self.request.cookies.get(SESSION_COOKIE)

    @property
    def signed_in(self) -> SignedIn:
        """The member, once ``run`` has checked the session."""
        if self.member is None:
            raise SignInRequired()
        return self.member

    @property
    def client_address(self) -> str | None:
        """The client's address, as the server resolved it (X-Forwarded-For only from trusted proxies)."""
        return self.request.client.host if self.request.client else None

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Check the session and run ``fn(scoped, member, *args, **kwargs)`` in one transaction."""
        member, result = await self.db.run(_as_member, self.db, self.token, self.admin_only, fn, args, kwargs,
                                           self.client_address, self.stages)
        self.member = member
        self.request.state.organization_id = member.organization_id  # for the access log
        return result

    async def read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``run`` for a unit that only reads and may take long (the ticket list): the session is
        checked in one transaction, then ``fn`` runs in a reader thread (``Database.read``)."""
        await self.run(_nothing)
        return await self.db.read(_read_as_member, self.db, self.member, fn, args, kwargs)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        shown = self.member if self.member is None or self.member.stage == "full" else None  # no menu half-way
        html = templates.get_template(template).render(
            member=shown, request=self.request, path=self.request.url.path, **context
        )
        return self.respond(HTMLResponse(html, status_code=status))

    def redirect(self, url: str) -> Response:
        return self.respond(RedirectResponse(url, status_code=303))

    def respond(self, response: ResponseT) -> ResponseT:
        response.headers.update(SECURITY_HEADERS)
        secure = self.request.url.scheme == "https"
        for name, value, max_age in self.cookies_to_set:
            response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure)
        for name in self.cookies_to_delete:
            response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure)
        return response


def _as_member(conn, db: Database, token: str | None, admin_only: bool, fn, args, kwargs, address: str | None,
               stages: tuple[str, ...]):
    member = session_member(conn, token, stages)
    if member is None:
        raise SignInRequired()
    if admin_only and not member.is_admin:
        raise _shown_to(member, Forbidden(
            "This page is for the organization's admins; ask an admin if you need something changed here."))
    try:
        actor = Actor.member(member.member_id, member.email, address)
        return member, fn(Scoped(db, conn, member.organization_id, actor), member, *args, **kwargs)
    except AppError as exc:
        _shown_to(member, exc)
        raise


def _shown_to(member: SignedIn, exc: AppError) -> AppError:
    """``exc``, marked with who is signed in: the error page still shows them (the transaction rolls
    back). An attribute of the web app's own: AppError is the API's too, where no member signs in."""
    setattr(exc, "signed_in", member)  # noqa: B010 - AppError declares no such attribute (read with getattr)
    return exc


def _nothing(_scoped, _member) -> None:
    return None


def _read_as_member(conn, db: Database, member: SignedIn, fn, args, kwargs):
    try:
        return fn(Scoped(db, conn, member.organization_id), member, *args, **kwargs)
    except AppError as exc:
        _shown_to(member, exc)
        raise


async def read_form(request: Request, limit: int) -> Form:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("This address takes a form submitted from a Telemetron page", code="invalid_form")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The form is too large (over {limit // 1024} KiB)")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The form could not be read", code="invalid_form") from None
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise InvalidRequest("The form contains a NUL character", code="invalid_form")
    return Form(pairs)


def _csrf_ok(web: Web) -> bool:
    sent = web.form.get("csrf")
    if web.request.url.path == "/signin":
        expected = web.request.cookies.get(SIGNIN_COOKIE)
    else:
        token = web.token
        if not token:
            return True  # no session: the request is answered with the sign-in page anyway
        expected = csrf_token(token)
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def new_signin_csrf(web: Web) -> str:
    """The sign-in form's CSRF value, kept in a cookie until sign-in (double submit)."""
    value = web.request.cookies.get(SIGNIN_COOKIE)
    if not value or len(value) > 64:
        value = secrets.token_urlsafe(24)
    web.cookies_to_set.append((SIGNIN_COOKIE, value, 3600))
    return value


def signin_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/signin" if target in ("/", "/tickets") else f"/signin?next={quote(target, safe='/')}"


_TICKET_FORM = re.compile(r"^(/tickets/[0-9A-Fa-f-]{36})/[a-z]+$")


def _after_lost_post(request: Request) -> str:
    """Where a form sent without a valid session leads: the sign-in page, saying that nothing was
    saved, then back to the ticket the form was on."""
    ticket = _TICKET_FORM.match(request.url.path)
    return f"/signin?ended=1&next={quote(ticket.group(1), safe='/')}" if ticket else "/signin?ended=1"


def page(*, admin_only: bool = False, stages: tuple[str, ...] = ("full",)
         ) -> Callable[[Callable[[Web], Awaitable[Response]]], Callable]:
    def wrap(handler: Callable[[Web], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            web = Web(request, admin_only=admin_only, stages=stages)
            try:
                if request.method == "POST":
                    web.form = await read_form(request, request.app.state.ctx.settings.max_body_bytes)
                    if not _csrf_ok(web):
                        raise Forbidden(
                            "This form has expired or did not come from this site. Reload the page and try again.",
                            code="csrf_failed",
                        )
                return await handler(web)
            except SignInRequired:
                if request.method == "GET":
                    return web.redirect(signin_url(request))
                if web.token is not None:  # a cookie that no longer works; none sent (another site's form): keep it
                    web.cookies_to_delete.append(SESSION_COOKIE)
                return web.redirect(_after_lost_post(request))
            except AppError as exc:
                web.member = web.member or getattr(exc, "signed_in", None)
                return error_page(web, exc.status, exc.message)
            except Exception:
                request_id = request.scope.get("state", {}).get("request_id", "-")
                logger.exception("web page failed request_id=%s path=%s", request_id, request.url.path)
                return error_page(web, 500, f"Something went wrong on our side. The request id is {request_id}.")

        return endpoint

    return wrap


_TITLES = {400: "That did not work", 401: "Sign-in failed", 403: "Not allowed", 404: "Not found",
           409: "Already exists", 413: "Too large", 429: "Too many attempts", 500: "Server error"}


def error_page(web: Web, status: int, message: str) -> HTMLResponse:
    return web.render("error.html", status=status, title=_TITLES.get(status, "Error"), message=message)


async def not_found_page(request: Request) -> HTMLResponse:
    """A path the server does not know, asked for by a browser (the API's clients get JSON); a
    signed-in member keeps the navigation, so the page is a step aside, not a dead end."""
    web = Web(request, admin_only=False)
    if web.token:
        try:
            web.member = await web.db.run(session_member, web.token)
        except Exception:  # noqa: BLE001 - the 404 page must not fail; it is shown without the menu
            logger.exception("404 page: the session could not be read")
    return error_page(web, 404, "There is no page at this address.")
