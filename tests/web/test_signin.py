"""Signing in and out, sessions, CSRF and throttling, through the real server (no browser)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from telemetron.members.throttle import email_key
from tests.support.databases import count
from tests.support.http import create_ticket
from tests.support.web import PASSWORD, Browser, add_person, csrf_of


def test_home_and_pages_send_a_stranger_to_the_sign_in_page(client):
    assert client.get("/").headers["location"] in ("/tickets", "/signin")
    response = client.get("/tickets?status=open")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/tickets%3Fstatus%3Dopen"
    page = client.get("/signin")
    assert page.status_code == 200
    assert "<h1>Sign in</h1>" in page.text


def test_signing_in_sets_a_hashed_httponly_lax_session_and_lands_on_the_tickets(client, org, db):
    response = client.sign_in(org.agent.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("telemetron_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/" in cookie
    token = client.cookies["telemetron_session"]
    assert len(token) >= 40
    # Only the token's hash is stored.
    assert count(db, "select count(*) from member_sessions where member_id = :m", m=org.agent.id) == 1
    assert count(db, "select count(*) from member_sessions where token_hash = :t", t=token) == 0
    tickets = client.get("/tickets")
    assert tickets.status_code == 200
    assert "Sam Agent" in tickets.text and "Sign out" in tickets.text
    assert "no-store" in tickets.headers["cache-control"]
    assert "default-src 'self'" in tickets.headers["content-security-policy"]
    assert client.get("/").headers["location"] == "/tickets"


def test_email_is_matched_ignoring_case_and_the_next_page_is_honoured(client, org):
    page = client.get("/signin?next=/tickets%3Fassignee%3Dme")
    response = client.post("/signin", data={"email": org.agent.email.upper(), "password": PASSWORD,
                                            "next": "/tickets?assignee=me", "csrf": csrf_of(page.text)})
    assert response.headers["location"] == "/tickets?assignee=me"


def test_next_never_leads_off_the_site(client, org):
    for target in ("//evil.example.com/x", "https://evil.example.com", "/\\evil.example.com"):
        client.cookies.clear()
        page = client.get("/signin")
        response = client.post("/signin", data={"email": org.agent.email, "password": PASSWORD, "next": target,
                                                "csrf": csrf_of(page.text)})
        assert response.headers["location"] == "/tickets", target


def test_a_wrong_password_or_unknown_email_says_so_plainly(client, org):
    for email, password in ((org.agent.email, "not the password"), ("nobody@example.com", PASSWORD)):
        page = client.get("/signin")
        response = client.post("/signin", data={"email": email, "password": password, "csrf": csrf_of(page.text)})
        assert response.status_code == 401
        assert "Wrong email or password." in response.text
        assert "telemetron_session" not in client.cookies
        assert f'value="{email}"' in response.text  # the email stays filled in


def test_empty_or_malformed_sign_in_forms_get_a_message(client):
    page = client.get("/signin")
    response = client.post("/signin", data={"email": "", "password": "", "csrf": csrf_of(page.text)})
    assert response.status_code == 400 and "Enter your email and your password." in response.text
    response = client.post("/signin", data={"email": "not-an-email", "password": "x", "csrf": csrf_of(page.text)})
    assert response.status_code == 400 and "is not an email address" in response.text


def test_a_member_without_a_password_cannot_sign_in(client, org, db):
    person = add_person(db, org.id, with_password=False)
    assert client.sign_in(person.email).status_code == 401


def test_sign_in_without_its_csrf_token_is_refused(client, org):
    client.get("/signin")
    response = client.post("/signin", data={"email": org.agent.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert "telemetron_session" not in client.cookies


def test_repeated_failures_lock_the_account_for_a_while_even_for_the_right_password(client, org, db):
    page = client.get("/signin")
    for _ in range(5):
        wrong = client.post("/signin", data={"email": org.agent.email, "password": "guess", "csrf": csrf_of(page.text)})
        assert wrong.status_code == 401
    locked = client.post("/signin", data={"email": org.agent.email, "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert locked.status_code == 429
    assert "Too many failed sign-ins for this account. Try again in" in locked.text
    # When the lock has passed, the right password works and the count starts over.
    key = email_key(org.agent.email)
    with db.engine.begin() as conn:
        conn.execute(text("update signin_throttle set locked_until = :t where key = :k"),
                     {"t": "2000-01-01 00:00:00", "k": key})
    assert client.sign_in(org.agent.email).status_code == 303
    assert count(db, "select failures from signin_throttle where key = :k", k=key) == 0


def test_an_unknown_email_is_locked_out_like_a_members_so_the_message_tells_nothing(client, org):
    page = client.get("/signin")
    stranger = f"nobody-{org.id}@example.com"
    for _ in range(5):
        wrong = client.post("/signin", data={"email": stranger, "password": "guess", "csrf": csrf_of(page.text)})
        assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    locked = client.post("/signin", data={"email": stranger, "password": "guess", "csrf": csrf_of(page.text)})
    assert locked.status_code == 429
    assert "Too many failed sign-ins for this account. Try again in" in locked.text


def test_signing_out_revokes_the_session_on_the_server(client, org, live_server):
    client.sign_in(org.agent.email)
    token = client.cookies["telemetron_session"]
    page = client.get("/tickets")
    response = client.post("/signout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/signin?signedout=1"
    assert "You are signed out." in client.get("/signin?signedout=1").text
    # The old cookie, replayed by anyone, no longer works.
    with Browser(base_url=live_server.url, follow_redirects=False) as thief:
        thief.cookies.set("telemetron_session", token)
        assert thief.get("/tickets").headers["location"].startswith("/signin")


def test_sign_out_without_csrf_is_refused(agent):
    response = agent.post("/signout", data={"go": "1"})
    assert response.status_code == 403
    assert agent.get("/tickets").status_code == 200


def test_an_expired_session_sends_back_to_sign_in(agent, db):
    with db.engine.begin() as conn:
        conn.execute(text("update member_sessions set expires_at = :t"), {"t": "2000-01-01 00:00:00"})
    assert agent.get("/tickets").headers["location"].startswith("/signin")


def test_a_session_idle_for_a_while_is_refreshed_and_the_page_loads(agent, org, db):
    # Past TOUCH_RESOLUTION (a minute), the next page refreshes the session's last-seen time.
    with db.engine.begin() as conn:
        conn.execute(text("update member_sessions set last_seen_at = :t where member_id = :m"),
                     {"t": "2000-01-01 00:00:00", "m": org.agent.id})
    page = agent.get("/tickets")
    assert page.status_code == 200 and "Sign out" in page.text
    assert count(db, "select count(*) from member_sessions where member_id = :m and last_seen_at > :t",
                 m=org.agent.id, t="2001-01-01 00:00:00") == 1
    assert agent.get("/tickets").status_code == 200


def test_a_new_password_signs_the_member_out_everywhere(admin, org, live_server):
    with Browser(base_url=live_server.url, follow_redirects=False) as other:
        other.sign_in(org.agent.email)
        assert other.get("/tickets").status_code == 200
        response = admin.submit("/admin/members", f"/admin/members/{org.agent.id}", {"password": "a brand new password"})
        assert response.status_code == 303
        assert other.get("/tickets").headers["location"].startswith("/signin")
        assert other.sign_in(org.agent.email, "a brand new password").status_code == 303


def test_session_lifetime_constants_are_sane():
    from telemetron.members import auth

    assert auth.IDLE <= auth.ABSOLUTE <= timedelta(days=31)


def test_a_notification_link_leads_through_sign_in_to_the_ticket(client, org, http):
    ticket_id = create_ticket(http, org.tenant, title="Linked from Slack")["ticketId"]
    response = client.get(f"/tickets/{ticket_id}")
    assert response.headers["location"] == f"/signin?next=/tickets/{ticket_id}"
    page = client.get(response.headers["location"])
    assert f'name="next" value="/tickets/{ticket_id}"' in page.text
    response = client.post("/signin", data={"email": org.agent.email, "password": PASSWORD,
                                            "next": f"/tickets/{ticket_id}", "csrf": csrf_of(page.text)})
    assert response.headers["location"] == f"/tickets/{ticket_id}"
    assert "Linked from Slack" in client.get(response.headers["location"]).text


def test_the_sign_in_page_sends_a_signed_in_member_on(agent):
    assert agent.get("/signin").headers["location"] == "/tickets"


def test_a_form_that_is_not_a_form_is_a_400_page(agent):
    response = agent.post("/tickets/00000000-0000-0000-0000-000000000000/update", content=b'{"status": "open"}',
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "takes a form submitted from a Telemetron page" in response.text
    assert "Traceback" not in response.text


def test_an_unknown_address_is_a_page_for_a_browser_and_json_for_a_client(http):
    page = http.get("/admin/nothing-here", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text
    api = http.get("/api/ext-v1/nothing-here", headers={"accept": "text/html"})
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    assert http.get("/nothing-here").json() == {"error": "No such endpoint", "code": "not_found"}


def test_a_form_sent_after_the_session_ended_says_so_and_leads_back_to_the_ticket(agent, org, http, db):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    page = agent.get(f"/tickets/{ticket_id}")
    with db.engine.begin() as conn:  # signed out in another tab
        conn.execute(text("delete from member_sessions where member_id = :m"), {"m": org.agent.id})
    response = agent.post(f"/tickets/{ticket_id}/reply", data={"content": "Hello", "csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?ended=1&next=/tickets/{ticket_id}"
    signin = agent.get(response.headers["location"])
    assert "Your session has ended, so what you just sent was not saved" in signin.text
    assert f'name="next" value="/tickets/{ticket_id}"' in signin.text


def test_another_sites_form_does_not_sign_the_member_out(agent, org, http):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    token = agent.cookies["telemetron_session"]
    agent.cookies.clear()  # a cross-site POST: the browser does not send the Lax session cookie
    response = agent.post(f"/tickets/{ticket_id}/update", data={"status": "resolved"})
    assert response.status_code in (303, 403)
    assert not any(c.startswith("telemetron_session=") for c in response.headers.get_list("set-cookie"))
    agent.cookies.set("telemetron_session", token)
    assert agent.get("/tickets").status_code == 200
