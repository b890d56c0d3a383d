"""queryTickets' full-text search (``q``), sorts and "waiting on us", over HTTP on both databases."""

from __future__ import annotations

import uuid

import pytest

from tests.support.http import post
from tests.support.http import rejected as assert_error

CREATE = "/api/ext-v1/ticket/createTicket"
QUERY = "/api/ext-v1/ticket/queryTickets"
UPDATE = "/api/ext-v1/ticket/updateTicket"
ADD_MESSAGE = "/api/ext-v1/ticket/addMessage"
CUSTOMERS = "/api/ext-v1/customer/createOrUpdateCustomer"


def create(http, tenant, title, **fields) -> str:
    body = {"title": title, "customerEmail": "jane.roe@example.com", **fields}
    response = http.post(CREATE, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticketId"]


def query(http, tenant, **body) -> dict:
    response = post(http, QUERY, tenant, body)
    assert response.status_code == 200, response.text
    return response.json()


def titles(http, tenant, **body) -> list[str]:
    return [t["title"] for t in query(http, tenant, **body)["tickets"]]


def message(http, tenant, ticket_id, content, role="customer"):
    response = post(http, ADD_MESSAGE, tenant, {"ticketId": ticket_id, "role": role, "content": content})
    assert response.status_code == 200, response.text


@pytest.fixture
def tickets(http, tenant, other_tenant):
    """Four tickets of ``tenant`` with their words in different places, one of another organization."""
    ids = {
        "printer": create(http, tenant, "Printer jams", description="The tray grinds on every page",
                          customerEmail="olga.nilsson@fjord.example"),
        "router": create(http, tenant, "Router reboots", messages=[
            {"role": "customer", "content": "It restarts at midnight, a firmware thing?"},
            {"role": "agent", "content": "Which firmware version do you run?"}]),
        "invoice": create(http, tenant, "Invoice twice", description="Charged twice for the same month"),
        "battery": create(http, tenant, "Battery swells", description="The case bulges near the hinge"),
    }
    create(http, other_tenant, "Printer jams at the other org", description="firmware tray grinds")
    return ids


def test_q_finds_a_word_in_the_description_a_message_or_the_customers_email(http, tenant, tickets):
    assert titles(http, tenant, q="grinds") == ["Printer jams"]  # description
    assert titles(http, tenant, q="midnight") == ["Router reboots"]  # a customer message
    assert titles(http, tenant, q="version") == ["Router reboots"]  # an agent message
    assert titles(http, tenant, q="olga.nilsson@fjord.example") == ["Printer jams"]  # the email
    assert titles(http, tenant, q="fjord") == ["Printer jams"]  # part of the email
    assert titles(http, tenant, q="nothingmatches") == []


def test_words_in_any_order_prefixes_and_a_quoted_phrase(http, tenant, tickets):
    assert titles(http, tenant, q="twice invoice") == ["Invoice twice"]
    assert titles(http, tenant, q="charged month") == ["Invoice twice"]  # both must match, any field
    assert titles(http, tenant, q="charged midnight") == []
    assert titles(http, tenant, q="firm") == ["Router reboots"]  # a prefix
    assert titles(http, tenant, q='"same month"') == ["Invoice twice"]
    assert titles(http, tenant, q='"month same"') == []  # a phrase keeps its order
    assert titles(http, tenant, q="BULGES Hinge") == ["Battery swells"]  # case does not matter


def test_a_message_added_later_and_a_renamed_customer_are_found(http, tenant, tickets):
    message(http, tenant, tickets["battery"], "Photos attached: xylophone-shaped crack")
    assert titles(http, tenant, q="xylophone") == ["Battery swells"]
    customer = query(http, tenant, q="fjord")["tickets"][0]["customer"]["id"]
    renamed = post(http, CUSTOMERS, tenant, {"telemetronCustomerId": customer, "email": "olga.nilsson@fjord.example",
                                             "name": "Olga Quarantotto"})
    assert renamed.status_code == 200, renamed.text
    assert titles(http, tenant, q="quarantotto") == ["Printer jams"]


@pytest.mark.parametrize("weird", [
    'NEAR(a b)', '"', '"unclosed phrase', "title:x", "a* OR b", "'; DROP TABLE tickets; --", "(((", "^x",
    "-", "AND", "NOT printer", "\\", "x" * 500, "\U0001F600 emoji", "a & b | !c <-> d:*",
])
def test_any_input_is_words_never_syntax(http, tenant, tickets, weird):
    body = query(http, tenant, q=weird)
    assert isinstance(body["tickets"], list)


def test_words_only_in_punctuation_give_nothing_and_say_why(http, tenant, tickets):
    body = query(http, tenant, q="?!* ()")
    assert body["tickets"] == [] and "no word" in body["warnings"][0]


def test_q_combines_with_filters_sort_and_the_cursor(http, tenant, tickets):
    post(http, UPDATE, tenant, {"ticketId": tickets["printer"], "status": "resolved"})
    assert titles(http, tenant, q="the", status="resolved") == ["Printer jams"]
    every = titles(http, tenant, q="the", sort="createdAt", order="asc")
    assert every == ["Printer jams", "Invoice twice", "Battery swells"]
    seen, cursor = [], None
    while True:
        body = query(http, tenant, q="the", sort="createdAt", order="asc", limit=1,
                     **({"cursor": cursor} if cursor else {}))
        seen += [t["title"] for t in body["tickets"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == every
    mismatch = post(http, QUERY, tenant, {"q": "tray", "sort": "createdAt", "order": "asc", "cursor": body and
                                          query(http, tenant, q="the", sort="createdAt", order="asc", limit=1)["nextCursor"]})
    assert_error(mismatch, 400, "cursor_mismatch", "cursor")


def test_relevance_puts_a_title_match_first_and_pages_through_every_match(http, tenant, tickets):
    create(http, tenant, "Something else", description="a printer is mentioned here only")
    assert titles(http, tenant, q="printer")[0] == "Printer jams"
    first = query(http, tenant, q="printer", limit=1)
    second = query(http, tenant, q="printer", limit=1, cursor=first["nextCursor"])
    assert {first["tickets"][0]["title"], second["tickets"][0]["title"]} == {"Printer jams", "Something else"}
    assert second["nextCursor"] is None


def test_sort_by_last_activity(http, tenant, tickets):
    assert titles(http, tenant, sort="updatedAt") == ["Battery swells", "Invoice twice", "Router reboots", "Printer jams"]
    message(http, tenant, tickets["printer"], "Any news?")
    assert titles(http, tenant, sort="updatedAt")[0] == "Printer jams"
    assert titles(http, tenant, sort="updatedAt", order="asc")[0] == "Router reboots"
    assert titles(http, tenant, q="the", sort="updatedAt")[0] == "Printer jams"


def test_waiting_on_us_follows_who_wrote_last(http, tenant, tickets):
    def ticket(name):
        return next(t for t in query(http, tenant)["tickets"] if t["id"] == tickets[name])

    assert ticket("router")["waitingOnUs"] is False  # the agent answered last
    assert ticket("router")["lastCustomerMessageAt"] is not None
    message(http, tenant, tickets["router"], "Version 2.1")
    router = ticket("router")
    assert router["waitingOnUs"] is True and router["waitingSince"] == router["lastCustomerMessageAt"]
    message(http, tenant, tickets["router"], "Please update to 2.2", role="agent")
    assert ticket("router")["waitingOnUs"] is False and ticket("router")["waitingSince"] is None


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"sort": "priority"}, "invalid_sort", "sort"),
    ({"order": "up"}, "invalid_order", "order"),
    ({"sort": "relevance"}, "relevance_without_q", "sort"),
    ({"q": "x", "sort": "relevance", "order": "asc"}, "invalid_order", "order"),
    ({"q": "   "}, "empty_field", "q"),
    ({"q": 5}, "invalid_type", "q"),
    ({"q": "x" * 501}, "query_too_long", "q"),
])
def test_bad_search_or_sort_is_a_clear_400(http, tenant, body, code, field):
    assert_error(post(http, QUERY, tenant, body), 400, code, field)


@pytest.mark.parametrize("few, dense", [(0, 10**9), (0, 0)])
def test_every_way_of_reading_the_matches_finds_the_same_tickets(http, tenant, tickets, monkeypatch, few, dense):
    """Reading the matches first (few), listing them (many), checking each ticket (dense, SQLite)."""
    from telemetron.tickets import search

    def every(q):
        return {"q": q, "sort": "updatedAt", "limit": 100}

    wanted = {q: titles(http, tenant, **every(q)) for q in (
        "the", "tw", "firmware", '"same month"', "the fjord", "olga.nil", "firm vers", "charg tw")}
    assert wanted["olga.nil"] == ["Printer jams"] and wanted["firm vers"] == ["Router reboots"]
    monkeypatch.setattr(search, "FEW", few)
    monkeypatch.setattr(search, "DENSE", dense)
    for q, expected in wanted.items():
        assert titles(http, tenant, **every(q)) == expected, q


def test_a_prefix_finds_every_word_it_starts_however_many(http, tenant, tickets):
    """A prefix standing for a few words is searched as those words, one for many as a prefix:
    either way every ticket holding any of them is found, in every order."""
    def word(i):
        return f"zq{i:02d}x{'y' * i}"

    for i in range(11):
        create(http, tenant, f"Serial {i}", description=f"unit {word(i)} failed")
    create(http, tenant, "Almost", description="unit zr00 failed")
    for q in ("zq", "zq0", "zq1", "zq05xyyyyy", "zq05xyyyyyy", "unit zq1"):
        expected = {f"Serial {i}" for i in range(11) if word(i).startswith(q.split()[-1])}
        assert set(titles(http, tenant, q=q, limit=100)) == expected, q
        assert set(titles(http, tenant, q=q, sort="updatedAt", limit=100)) == expected, q
    assert titles(http, tenant, q='"unit zq03xyyy"') == ["Serial 3"]  # quoted: the whole word only
    assert titles(http, tenant, q='"unit zq03xyy"') == []


def test_a_query_with_diacritics_finds_the_word(http, tenant, tickets):
    create(http, tenant, "Café machine", description="The crème brûlée setting burns")
    assert titles(http, tenant, q="Café") == ["Café machine"]
    assert titles(http, tenant, q="caf") == ["Café machine"]
    assert titles(http, tenant, q="brûl") == ["Café machine"]
    assert titles(http, tenant, q="brûl", sort="updatedAt") == ["Café machine"]


def test_prefixes_are_read_as_the_words_they_stand_for(http, db, tenant):
    """SQLite: the words of a prefix come from the index, a seek each, up to a few; past that, or
    for none, the prefix stays a prefix."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's GIN index serves a prefix itself")
    from telemetron.db.scoped import Scoped
    from telemetron.tickets import search

    u = f"k{uuid.uuid4().hex[:8]}"  # words no other test indexes
    create(http, tenant, "Words", description=f"{u}ab {u}abc {u}abd {u}b x{u} {u}c-{u}d")
    for i in range(search._MAX_EXPANSION + 1):
        create(http, tenant, f"Many {i}", description=f"{u}m{i}")

    def exact(q):
        return db.read_sync(lambda conn: search.exact_words(Scoped(db, conn, tenant.id), search.parse(q)))

    assert exact(f"{u}a") == f'("{u}ab" OR "{u}abc" OR "{u}abd")'
    assert exact(f"{u}ab {u}b") == f'("{u}ab" OR "{u}abc" OR "{u}abd") AND ("{u}b")'
    assert exact(f'"{u}ab"') == f'"{u}ab"'
    assert exact(f"{u}c-{u}d") == f'("{u}c {u}d")'  # a phrase's last word
    assert exact(f"{u}z") is None  # no such word
    assert exact(f"{u}m") is None  # more words than are worth listing
    assert len(titles(http, tenant, q=f"{u}m", limit=100)) == search._MAX_EXPANSION + 1


def test_relevance_ranks_alike_whichever_way_the_matches_are_read(http, tenant, tickets, monkeypatch):
    """Reading the matches first (few) or walking the newest tickets (many): the same ranking."""
    from telemetron.tickets import search

    create(http, tenant, "Something else", description="a printer is mentioned here only")
    wanted = {q: titles(http, tenant, q=q) for q in ("printer", "the", "tw", "firmware")}
    assert wanted["printer"] == ["Printer jams", "Something else"]
    monkeypatch.setattr(search, "FEW", 0)
    for q, expected in wanted.items():
        assert titles(http, tenant, q=q) == expected, q


def test_relevance_over_many_matches_ranks_the_newest_tickets(http, db, tenant, tickets, monkeypatch):
    """PostgreSQL, past ``FEW`` matches: the matches among the newest ``WALK`` tickets are ranked
    (finding older ones means checking tickets one by one)."""
    if db.is_sqlite:
        pytest.skip("FTS5 reads the newest matches from its index")
    from telemetron.tickets import search

    monkeypatch.setattr(search, "FEW", 0)
    monkeypatch.setattr(search, "WALK", 2)
    newest = create(http, tenant, "Newest printer", description="printer")
    create(http, tenant, "Newer, no match", description="nothing")
    assert [t["id"] for t in query(http, tenant, q="printer")["tickets"]] == [newest]
