"""Fixtures for the web app: organizations with an admin and an agent who can sign in, a signed-in
HTTP client, and a real browser.

The browser is Debian's Chromium (``apt-get install chromium``), driven by Playwright's Python
package. Why Playwright rather than Selenium + chromium-driver: its waits are built in (a click
waits for the element, ``expect`` retries until the page shows the text), which is what keeps
browser tests from being flaky without sleeps; and it talks to Chromium over the DevTools
protocol, so no driver binary has to match the browser's version. It never downloads a browser
here: it launches the system's Chromium with ``executable_path``.

Without Chromium (or Playwright) the browser tests are skipped with the reason, except under CI
(``CI`` set), where they fail: CI installs Chromium (``.ci/run``) and must run them, as it must
run the PostgreSQL half (tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from conftest import Tenant, make_tenant

from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.members.auth import hash_password
from telemetron.members.service import add_member

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
    """An organization (with an API key, as tests/conftest.py makes them), an admin and an agent."""

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


@pytest.fixture
def org(db) -> WebOrg:
    return make_web_org(db)


@pytest.fixture
def other_org(db) -> WebOrg:
    return make_web_org(db)


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


@pytest.fixture
def client(live_server) -> Iterator[Browser]:
    with Browser(base_url=live_server.url, timeout=30, follow_redirects=False,
                 headers={"X-Forwarded-For": client_address()}) as c:
        yield c


@pytest.fixture
def admin(client, org) -> Browser:
    response = client.sign_in(org.admin.email)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def agent(client, org) -> Browser:
    response = client.sign_in(org.agent.email)
    assert response.status_code == 303, response.text
    return client


def create_ticket(http: httpx.Client, tenant: Tenant, **fields) -> dict:
    body = {"title": "Device not connecting to WiFi", "customerEmail": "john.doe@example.com", **fields}
    response = http.post("/api/ext-v1/ticket/createTicket", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def get_ticket(http: httpx.Client, tenant: Tenant, ticket_id: str) -> dict:
    response = http.get(f"/api/ext-v1/ticket/getTicket/{ticket_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticket"]


# --- a real browser -----------------------------------------------------------------------------------


def _chromium() -> str | None:
    explicit = os.environ.get("TELEMETRON_TEST_CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs Chromium)", pytrace=False)
    pytest.skip(reason)


# Function scope, on purpose: while Playwright's sync API is running, the main thread has a running
# asyncio loop, and other tests' asyncio.run() would fail. A launch costs about half a second.
@pytest.fixture
def chromium() -> Iterator:
    executable = _chromium()
    if executable is None:
        _missing("Chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (python3 dev.py test installs it)")
    with sync_playwright() as playwright:
        # --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
