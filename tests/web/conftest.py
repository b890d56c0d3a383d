"""Fixtures for the web app: organizations with an admin and an agent who can sign in, a signed-in
HTTP client, and a real browser (what they are made of: tests/support/web.py).

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
import shutil
from collections.abc import Iterator

import pytest

from tests.support.web import Browser, WebOrg, client_address, make_web_org


@pytest.fixture
def org(db) -> WebOrg:
    return make_web_org(db)


@pytest.fixture
def other_org(db) -> WebOrg:
    return make_web_org(db)


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
