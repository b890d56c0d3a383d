"""The web app as its people use it: members who can sign in, organizations with an admin and an
agent, an HTTP client that behaves like a browser session, and a real browser's sign-in.

The fixtures that hand these out (``org``, ``client``, ``admin``, ``agent``, ``page``) are in
tests/web/conftest.py.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx

from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.members.auth import hash_password
from telemetron.members.service import add_member
from tests.support.tenants import Tenant, make_tenant

PASSWORD = "correct horse battery"
# One hash for every test member: scrypt is slow on purpose (~50 ms), and tests make many members.
_HASH: list[str] = []
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


@dataclass
class Person:
    id: str
    email: str
    name: str
    role: str
    password: str = PASSWORD


@dataclass
class WebOrg:
    """An organization (with an API key, as ``make_tenant`` makes them), an admin and an agent."""

    tenant: Tenant
    admin: Person
    agent: Person

    @property
    def id(self) -> str:
        return self.tenant.id


def add_person(db: Database, org_id: str, *, role: str = "agent", name: str | None = None,
               with_password: bool = True) -> Person:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"

    def unit(conn):
        return add_member(Scoped(db, conn, org_id), email=email, name=name or role.capitalize(), role=role,
                          password_hash=password_hash() if with_password else None)

    member = db.run_sync(unit)
    return Person(member["id"], member["email"], member["name"], role)


def make_web_org(db: Database) -> WebOrg:
    tenant = make_tenant(db)
    return WebOrg(tenant, add_person(db, tenant.id, role="admin", name="Ada Admin"),
                  add_person(db, tenant.id, role="agent", name="Sam Agent"))


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Browser(httpx.Client):
    """An HTTP client that behaves like a browser session: cookies kept, redirects not followed
    (tests look at them), and ``submit`` posts a form with the CSRF token of the page it came from."""

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        page = self.get("/signin")
        return self.post("/signin", data={"email": email, "password": password, "csrf": csrf_of(page.text)})

    def submit(self, page_path: str, action: str, data: dict) -> httpx.Response:
        """Open ``page_path`` and post ``data`` to ``action`` with that page's CSRF token."""
        page = self.get(page_path)
        assert page.status_code == 200, page.text
        return self.post(action, data={**data, "csrf": csrf_of(page.text)})


def client_address() -> str:
    """An address of its own for a test's client (the test server believes X-Forwarded-For from
    127.0.0.1, as uvicorn does by default): tests never share the per-address sign-in limit."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, in a real browser's ``page`` (Playwright)."""
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def titles(html: str) -> list[str]:
    """The titles of the tickets a list page shows, in its order."""
    return re.findall(r'<td><a href="/tickets/[0-9a-f-]{36}">([^<]*)</a></td>', html)
