"""TOTP two-factor sign-in, with real codes made by pyotp: enrolment from the account page, the
code after the password, recovery codes, lockout, turning it off, and an organization requiring it."""

from __future__ import annotations

import re
import time

import pyotp

from tests.support.databases import count
from tests.support.web import Browser, client_address, csrf_of

_SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')


def enrol(browser: Browser, db, member_id: str) -> tuple[pyotp.TOTP, list[str]]:
    """Set two-factor up as a person does; returns the app's TOTP and the recovery codes shown."""
    page = browser.get("/account/2fa")
    assert page.status_code == 200 and "Set up two-factor sign-in" in page.text
    assert browser.post("/account/2fa/setup", data={"csrf": csrf_of(page.text)}).status_code == 303
    page = browser.get("/account/2fa")
    assert "<svg" in page.text and "Scan this with your authenticator app" in page.text  # the QR code, inline
    totp = pyotp.TOTP(_SECRET.search(page.text).group(1))
    wrong = browser.post("/account/2fa/enable", data={"csrf": csrf_of(page.text), "code": "000000" if totp.now() != "000000" else "111111"})
    assert wrong.status_code == 400 and "That code does not match" in wrong.text
    done = browser.post("/account/2fa/enable", data={"csrf": csrf_of(page.text), "code": totp.now()})
    assert done.status_code == 200 and "Two-factor sign-in is on" in done.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes


def later_code(totp: pyotp.TOTP, steps: int = 1) -> str:
    """The code of a coming step (accepted one step early): a code is good once, so each use needs a newer one."""
    return totp.at(time.time() + 30 * steps)


def password_step(browser: Browser, email: str) -> str:
    response = browser.sign_in(email)
    assert response.status_code == 303
    return response.headers["location"]


def send_code(browser: Browser, code: str):
    page = browser.get("/signin/code")
    assert page.status_code == 200 and "Two-factor code" in page.text
    return browser.post("/signin/code", data={"csrf": csrf_of(page.text), "code": code, "next": "/tickets"})


def fresh(live_server) -> Browser:
    return Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": client_address()})


def test_enrol_then_sign_in_with_a_code_after_the_password(agent, org, db, live_server):
    totp, codes = enrol(agent, db, org.agent.id)
    stored = str(db.run_sync(lambda conn: conn.exec_driver_sql("select * from member_recovery_codes").fetchall()))
    assert count(db, "select count(*) from member_recovery_codes where member_id = :m", m=org.agent.id) == 10
    assert not any(c in stored or c.replace("-", "") in stored for c in codes)  # only their hashes
    assert "Two-factor sign-in</h2>\n  <p>On." in agent.get("/account").text
    with fresh(live_server) as laptop:
        assert password_step(laptop, org.agent.email) == "/signin/code?next=/tickets"
        # Half signed in: no page opens yet.
        assert laptop.get("/tickets").headers["location"].startswith("/signin")
        assert "Sam Agent" not in send_code(laptop, "123456" if later_code(totp) != "123456" else "654321").text
        signed_in = send_code(laptop, later_code(totp))
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/tickets"
        assert laptop.get("/tickets").status_code == 200
    with fresh(live_server) as replay:  # the same code a second time is refused
        password_step(replay, org.agent.email)
        assert send_code(replay, later_code(totp)).status_code == 401


def test_a_recovery_code_signs_in_once(agent, org, db, live_server):
    _, codes = enrol(agent, db, org.agent.id)
    with fresh(live_server) as laptop:
        password_step(laptop, org.agent.email)
        assert send_code(laptop, codes[3].upper()).status_code == 303
    with fresh(live_server) as again:
        password_step(again, org.agent.email)
        refused = send_code(again, codes[3])
        assert refused.status_code == 401 and "not right" in refused.text
    assert "Recovery codes left: 9" in agent.get("/account/2fa").text


def test_guessing_codes_locks_like_guessing_passwords(agent, org, db, live_server):
    totp, _ = enrol(agent, db, org.agent.id)
    with fresh(live_server) as attacker:
        password_step(attacker, org.agent.email)
        answers = [send_code(attacker, f"{n:06d}").status_code for n in range(100000, 100006)]
        assert answers[:5] == [401] * 5 and answers[5] == 429
        locked = send_code(attacker, later_code(totp))
        assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text


def test_turning_it_off_needs_a_current_code(agent, org, db):
    totp, _ = enrol(agent, db, org.agent.id)
    page = agent.get("/account/2fa")
    wrong = agent.post("/account/2fa/disable", data={"csrf": csrf_of(page.text), "code": "12345678"})
    assert wrong.status_code == 400 and "Recovery codes left: 10" in agent.get("/account/2fa").text
    off = agent.post("/account/2fa/disable", data={"csrf": csrf_of(page.text), "code": later_code(totp)})
    assert off.status_code == 303 and "Two-factor sign-in is off." in agent.get(off.headers["location"]).text
    assert count(db, "select count(*) from members where id = :m and totp_secret is not null", m=org.agent.id) == 0
    assert count(db, "select count(*) from member_recovery_codes where member_id = :m", m=org.agent.id) == 0
    actions = db.run_sync(lambda conn: [r[0] for r in conn.exec_driver_sql(
        f"select action from audit_events where organization_id = '{org.id}' order by id").fetchall()])
    assert "member.2fa_enabled" in actions and actions[-1] == "member.2fa_disabled"


def test_an_admin_requires_it_and_members_without_it_set_it_up_after_their_password(admin, org, db, live_server):
    done = admin.submit("/admin/members", "/admin/two-factor-required", {"required": "yes"})
    assert done.status_code == 303 and "now required" in admin.get(done.headers["location"]).text
    with fresh(live_server) as agent:
        assert password_step(agent, org.agent.email) == "/account/2fa?required=1"
        assert agent.get("/tickets").headers["location"].startswith("/signin")  # nothing else opens
        assert "Your organization requires two-factor sign-in" in agent.get("/account/2fa").text
        totp, _ = enrol(agent, db, org.agent.id)
        assert agent.get("/tickets").status_code == 200  # set up: signed in fully
        page = agent.get("/account/2fa")
        assert "cannot be turned off" in page.text
        refused = agent.post("/account/2fa/disable", data={"csrf": csrf_of(page.text), "code": later_code(totp)})
        assert refused.status_code == 409
        # An agent cannot change the rule.
        assert agent.post("/admin/two-factor-required", data={"csrf": csrf_of(page.text), "required": "no"}
                          ).status_code == 403
    with fresh(live_server) as other:
        password_step(other, org.admin.email)  # the admin has no two-factor: sent to set it up too
        assert other.get("/admin/members").headers["location"].startswith("/signin")
    assert count(db, "select count(*) from audit_events where organization_id = :o and "
                     "action = 'organization.2fa_required_changed'", o=org.id) == 1


def test_the_code_page_is_only_for_a_sign_in_half_way(client, agent):
    assert client.get("/signin/code").headers["location"].startswith("/signin")
    page = agent.get("/tickets")
    ended = agent.post("/signin/code", data={"code": "123456", "csrf": csrf_of(page.text)})
    assert ended.status_code == 303 and ended.headers["location"].startswith("/signin")


def test_an_admin_turns_off_a_members_two_factor_from_the_shell(agent, org, db, live_server, cli):
    enrol(agent, db, org.agent.id)
    result = cli("member", "2fa-reset", "--org", org.id, org.agent.email)
    assert result.exit_code == 0 and f"two-factor sign-in is off for {org.agent.email}" in result.stdout
    with fresh(live_server) as laptop:
        assert password_step(laptop, org.agent.email) == "/tickets"
    assert count(db, "select count(*) from audit_events where organization_id = :o and action = 'member.2fa_reset'",
                 o=org.id) == 1
