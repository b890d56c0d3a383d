"""A member's own account page: changing one's password (current one required, others signed out)."""

from __future__ import annotations

from tests.support.databases import count
from tests.support.web import PASSWORD, Browser, client_address

NEW = "violet kettle marathon"


def change(browser: Browser, current: str, new: str, again: str | None = None):
    return browser.submit("/account", "/account/password", {
        "current_password": current, "new_password": new, "new_password_again": new if again is None else again})


def test_an_agent_changes_their_password_and_their_other_sessions_end(agent, org, live_server, db):
    with Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": client_address()}) as laptop:
        assert laptop.sign_in(org.agent.email).status_code == 303
        page = agent.get("/account")
        assert page.status_code == 200 and "Change your password" in page.text and org.agent.email in page.text
        done = change(agent, PASSWORD, NEW)
        assert done.status_code == 303 and done.headers["location"] == "/account?done=password-changed"
        assert "Password changed. Your other sessions were signed out." in agent.get(done.headers["location"]).text
        # This session goes on; the other one is signed out.
        assert agent.get("/tickets").status_code == 200
        assert laptop.get("/tickets").headers["location"].startswith("/signin")
        assert count(db, "select count(*) from member_sessions where member_id = :m", m=org.agent.id) == 1
        # The new password signs in, the old one no longer does.
        assert laptop.sign_in(org.agent.email, PASSWORD).status_code == 401
        assert laptop.sign_in(org.agent.email, NEW).status_code == 303


def test_the_current_password_is_required_and_checked_like_a_sign_in(agent, org):
    wrong = change(agent, "not my password", NEW)
    assert wrong.status_code == 400 and "The current password is wrong." in wrong.text
    for _ in range(10):
        answer = change(agent, "still guessing", NEW)
    assert answer.status_code == 429 and "Too many failed sign-ins for this account" in answer.text
    # Even the right one is refused while locked.
    assert change(agent, PASSWORD, NEW).status_code == 429


def test_a_weak_or_mistyped_new_password_is_refused_with_a_message(agent, org, live_server):
    for new, again, message in (("short", None, "at least 12 characters"),
                                ("password1234", None, "too common or easy to guess"),
                                (NEW, NEW + "x", "The two new passwords differ.")):
        answer = change(agent, PASSWORD, new, again)
        assert answer.status_code == 400 and message in answer.text, new
    with Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": client_address()}) as c:
        assert c.sign_in(org.agent.email).status_code == 303  # unchanged


def test_the_account_page_needs_a_session_and_csrf(client, agent):
    with Browser(base_url=client.base_url, follow_redirects=False) as stranger:
        assert stranger.get("/account").headers["location"].startswith("/signin")
    refused = agent.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW,
                                                    "new_password_again": NEW})
    assert refused.status_code == 403
