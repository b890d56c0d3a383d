"""Sign-in under attack, against real ``telemetron serve`` processes: bursts, the per-address limit,
proxies, and the time an answer takes."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text

from telemetron.db.scoped import Scoped
from telemetron.members import auth
from telemetron.members.service import add_member
from telemetron.members.throttle import FREE_FAILURES, MAX_LOCK, email_key, lock_delay
from tests.support.databases import count
from tests.support.servers import free_port
from tests.support.web import PASSWORD, Browser, add_person, client_address, csrf_of, make_web_org, password_hash


@contextmanager
def serve(database_url: str, *, workers: int = 1, **env: str) -> Iterator[str]:
    """``telemetron serve`` as a real process (``--workers N``), answering at the URL it yields."""
    port = free_port()
    environment = {**os.environ, "TELEMETRON_DATABASE_URL": database_url, "TELEMETRON_RUN_WORKER": "false",
                   "TELEMETRON_LOG_LEVEL": "warning", **{f"TELEMETRON_{k.upper()}": v for k, v in env.items()}}
    process = subprocess.Popen([sys.executable, "-m", "telemetron", "serve", "--port", str(port),
                                "--workers", str(workers)], env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the server exited"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def forget_local_address(db) -> None:
    """Tests that sign in from 127.0.0.1 itself start with its count at zero."""
    db.run_sync(lambda conn: conn.execute(text("delete from signin_throttle where key = 'addr:127.0.0.1'")))


@pytest.fixture
def local_address(db) -> Iterator[None]:
    """127.0.0.1's count at zero, and back to zero after the test (the browser tests sign in from it)."""
    forget_local_address(db)
    yield
    forget_local_address(db)


def _burst(url: str, email: str, passwords: list[str]) -> list[int]:
    """Send every password at once, each on its own connection, released together by a barrier."""
    with httpx.Client(base_url=url) as first:
        csrf = csrf_of(first.get("/signin").text)
    barrier = threading.Barrier(len(passwords))
    statuses: list[int] = []

    def attempt(password: str) -> None:
        with httpx.Client(base_url=url, timeout=60, cookies={"telemetron_signin": csrf}) as c:
            barrier.wait()
            statuses.append(c.post("/signin", data={"email": email, "password": password, "csrf": csrf}).status_code)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


def test_a_burst_of_60_guesses_with_the_right_one_among_them_never_signs_in(db, database_url, local_address):
    org = make_web_org(db)
    workers = 1 if database_url.startswith("sqlite") else 2
    passwords = [f"wrong guess {i:02d}" for i in range(59)]
    passwords.insert(30, PASSWORD)
    with serve(database_url, workers=workers, signin_address_limit="1000") as url:
        statuses = _burst(url, org.agent.email, passwords)
        assert len(statuses) == 60
        assert 303 not in statuses, statuses
        assert set(statuses) <= {401, 429}, statuses
        # Only the attempts let through were checked: at most the free ones.
        assert 1 <= statuses.count(401) <= FREE_FAILURES, statuses
        # Still locked afterwards, even for the right password.
        with Browser(base_url=url, follow_redirects=False) as person:
            assert person.sign_in(org.agent.email).status_code == 429


def test_a_long_attack_never_overflows_the_lock_and_it_stays_capped(client, org, db):
    key = email_key(org.agent.email)
    assert lock_delay(47) == MAX_LOCK and lock_delay(10**9) == MAX_LOCK
    with db.engine.begin() as conn:
        conn.execute(text("insert into signin_throttle (key, failures, locked_until, updated_at) "
                          "values (:k, 1000000, :t, :t)"), {"k": key, "t": "2000-01-01 00:00:00"})
    page = client.get("/signin")
    wrong = client.post("/signin", data={"email": org.agent.email, "password": "guess", "csrf": csrf_of(page.text)})
    assert wrong.status_code == 401
    locked = client.post("/signin", data={"email": org.agent.email, "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert locked.status_code == 429
    seconds = int(locked.text.split("Try again in ")[1].split(" seconds")[0])
    assert MAX_LOCK.total_seconds() - 60 < seconds <= MAX_LOCK.total_seconds()


def _fail_from(url: str, address: str, email: str) -> httpx.Response:
    with Browser(base_url=url, follow_redirects=False, headers={"X-Forwarded-For": address}) as c:
        return c.sign_in(email, "not the password")


def test_one_address_gets_a_limited_number_of_failures_across_all_accounts(db, database_url, local_address):
    org = make_web_org(db)
    emails = [f"spray-{uuid.uuid4().hex[:8]}@example.com" for _ in range(4)] + [org.agent.email]
    with serve(database_url, signin_address_limit="3", trusted_proxies="") as url:
        # No proxy is trusted: X-Forwarded-For changes nothing, all come from 127.0.0.1.
        answers = [_fail_from(url, client_address(), email) for email in emails]
        assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
        assert "Too many failed sign-ins from your network address. Try again in" in answers[3].text


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(db, database_url):
    org = make_web_org(db)
    with serve(database_url, signin_address_limit="2", trusted_proxies="127.0.0.1") as url:
        attacker, colleague = client_address(), client_address()
        assert [_fail_from(url, attacker, org.admin.email).status_code for _ in range(3)] == [401, 401, 429]
        assert _fail_from(url, colleague, org.admin.email).status_code == 401
        # A success gives its attempt back: the colleague still has one failure left, not none.
        with Browser(base_url=url, follow_redirects=False, headers={"X-Forwarded-For": colleague}) as c:
            assert c.sign_in(org.agent.email).status_code == 303
        assert [_fail_from(url, colleague, org.agent.email).status_code for _ in range(2)] == [401, 429]


def test_an_admin_setting_a_new_password_unlocks_the_account(admin, org, db, live_server):
    with Browser(base_url=live_server.url, follow_redirects=False,
                 headers={"X-Forwarded-For": client_address()}) as stranger:
        for _ in range(FREE_FAILURES + 1):
            stranger.sign_in(org.agent.email, "not the password")
        assert stranger.sign_in(org.agent.email).status_code == 429
        done = admin.submit("/admin/members", f"/admin/members/{org.agent.id}", {"password": PASSWORD})
        assert done.status_code == 303
        assert count(db, "select count(*) from signin_throttle where key = :k", k=email_key(org.agent.email)) == 0
        assert stranger.sign_in(org.agent.email).status_code == 303


def also_member_of(db, org_id: str, email: str) -> None:
    db.run_sync(lambda conn: add_member(Scoped(db, conn, org_id), email=email, password_hash=password_hash()))


def test_every_sign_in_checks_the_same_number_of_hashes(db, monkeypatch):
    org = make_web_org(db)
    other = make_web_org(db)
    twice = add_person(db, org.id)
    also_member_of(db, other.id, twice.email)
    calls: list[int] = []
    real = auth._scrypt
    monkeypatch.setattr(auth, "_scrypt", lambda *a: calls.append(1) or real(*a))
    counts = {}
    for label, email in (("unknown", "nobody@example.com"), ("one", org.agent.email), ("two", twice.email)):
        candidates = db.run_sync(auth.signin_candidates, email)
        calls.clear()
        assert auth.find_signer("not the password", candidates) is None
        counts[label] = (len(candidates), len(calls))
    assert counts == {"unknown": (0, auth.MAX_CANDIDATES), "one": (1, auth.MAX_CANDIDATES),
                      "two": (2, auth.MAX_CANDIDATES)}


def test_an_unknown_email_one_organization_and_two_take_the_same_time_to_refuse(client, db, live_server):
    org, other = make_web_org(db), make_web_org(db)
    twice = add_person(db, org.id)
    also_member_of(db, other.id, twice.email)
    emails = {"unknown": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "one": org.agent.email, "two": twice.email}
    times: dict[str, list[float]] = {label: [] for label in emails}
    csrf = csrf_of(client.get("/signin").text)
    for _ in range(FREE_FAILURES - 1):  # below the lock, interleaved so that load affects all alike
        for label, email in emails.items():
            started = time.perf_counter()
            answer = client.post("/signin", data={"email": email, "password": "not the password", "csrf": csrf})
            times[label].append(time.perf_counter() - started)
            assert answer.status_code == 401
    medians = {label: statistics.median(t) for label, t in times.items()}
    assert max(medians.values()) < 1.5 * min(medians.values()), medians
