"""The agents' ticket list: full-text search, sorts, last activity, "waiting on us" and unseen replies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from telemetron.web.pages import _ago
from tests.support.http import create_ticket
from tests.support.web import titles

ADD_MESSAGE = "/api/ext-v1/ticket/addMessage"


def message(http, org, ticket_id, content, role="customer"):
    response = http.post(ADD_MESSAGE, headers=org.tenant.headers,
                         json={"ticketId": ticket_id, "role": role, "content": content})
    assert response.status_code == 200, response.text


def row_of(html: str, title: str) -> str:
    return next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S) if f">{title}</a>" in r)


def test_search_finds_words_in_messages_descriptions_and_the_customers_email(agent, org, http):
    create_ticket(http, org.tenant, title="Printer jams", description="The tray grinds",
                  customerEmail="olga@fjord.example")
    router = create_ticket(http, org.tenant, title="Router reboots")
    message(http, org, router["ticketId"], "It restarts every midnight")
    create_ticket(http, org.tenant, title="Invoice twice", description="Charged twice this month")
    assert titles(agent.get("/tickets?q=midnight").text) == ["Router reboots"]
    assert titles(agent.get("/tickets?q=grinds").text) == ["Printer jams"]
    assert titles(agent.get("/tickets?q=olga%40fjord.example").text) == ["Printer jams"]
    assert titles(agent.get("/tickets?q=%22twice+this%22").text) == ["Invoice twice"]
    assert titles(agent.get("/tickets?q=twi+char").text) == ["Invoice twice"]  # prefixes, any order
    assert titles(agent.get("/tickets?q=midnight&priority=urgent").text) == []  # with the filters
    for weird in ("%22", "NEAR(", "*", "a%27b", "%29%28"):
        assert agent.get(f"/tickets?q={weird}").status_code == 200


def test_sort_by_priority_walks_every_ticket_once_urgent_first(agent, org, http):
    made = []
    for i in range(30):
        priority = ("low", "medium", "high", "urgent")[i % 4]
        create_ticket(http, org.tenant, title=f"Ticket {i:02d}", priority=priority)
        made.append((priority, f"Ticket {i:02d}"))
    rank = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
    expected = [title for _, title in sorted(made, key=lambda m: (rank[m[0]], -int(m[1][-2:])))]
    page = agent.get("/tickets?sort=priority")
    seen = titles(page.text)
    assert len(seen) == 25
    older = re.search(r'<a href="(/tickets\?[^"]+)" rel="next"', page.text).group(1).replace("&amp;", "&")
    assert "sort=priority" in older
    seen += titles(agent.get(older).text)
    assert seen == expected


def test_the_list_shows_last_activity_waiting_on_us_and_sorts_by_activity(agent, org, http):
    first = create_ticket(http, org.tenant, title="First ticket")
    create_ticket(http, org.tenant, title="Second ticket", messages=[
        {"role": "customer", "content": "Hello"}, {"role": "agent", "content": "Hi, looking"}])
    page = agent.get("/tickets").text
    assert titles(page) == ["Second ticket", "First ticket"]
    assert "just now" in row_of(page, "First ticket")
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d UTC">just now</time>', page)
    assert "Waiting on us" in row_of(page, "First ticket")  # nobody answered the new ticket
    assert "Waiting on us" not in row_of(page, "Second ticket")  # the agent wrote last
    message(http, org, first["ticketId"], "Any news?", role="agent")
    message(http, org, first["ticketId"], "Thanks, that worked")
    page = agent.get("/tickets").text
    assert titles(page) == ["First ticket", "Second ticket"]  # a new message brings it to the top
    assert titles(agent.get("/tickets?sort=created").text) == ["Second ticket", "First ticket"]


def test_a_customer_reply_is_new_to_each_agent_until_they_open_the_ticket(agent, org, http):
    ticket = create_ticket(http, org.tenant, title="Needs an answer",
                           messages=[{"role": "customer", "content": "My order is late"}])
    assert 'class="unseen"' in row_of(agent.get("/tickets").text, "Needs an answer")
    assert agent.get(f"/tickets/{ticket['ticketId']}").status_code == 200
    assert "unseen" not in row_of(agent.get("/tickets").text, "Needs an answer")
    message(http, org, ticket["ticketId"], "Hello? Still waiting")
    row = row_of(agent.get("/tickets").text, "Needs an answer")
    assert 'class="unseen"' in row and ">New</span>" in row
    message(http, org, ticket["ticketId"], "We are on it", role="agent")  # an answer is not news
    agent.get(f"/tickets/{ticket['ticketId']}")
    assert "unseen" not in row_of(agent.get("/tickets").text, "Needs an answer")


def test_relative_times_read_as_agents_say_them():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert _ago(now - timedelta(seconds=20), now) == "just now"
    assert _ago(now - timedelta(minutes=3, seconds=10), now) == "3 min ago"
    assert _ago((now - timedelta(hours=5)).isoformat(), now) == "5 h ago"
    assert _ago(now - timedelta(days=1, hours=2), now) == "1 day ago"
    assert _ago(now - timedelta(days=9), now) == "9 days ago"
    assert _ago(now - timedelta(days=90), now) == "2026-09-05"
    assert _ago(None, now) == ""
