"""getTicket and queryTickets: what a client reads back about the tickets it created.

Every case runs on SQLite and PostgreSQL, over HTTP against the real server. ``tenant`` is
organization A and ``other_tenant`` organization B: B never sees anything of A's.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from telemetron.db.tables import tickets
from telemetron.members.service import add_member
from telemetron.routing.service import add_rule
from tests.support.databases import count
from tests.support.http import rejected as assert_error

CREATE = "/api/ext-v1/ticket/createTicket"
GET = "/api/ext-v1/ticket/getTicket/{}"
QUERY = "/api/ext-v1/ticket/queryTickets"
UPDATE = "/api/ext-v1/ticket/updateTicket"
ADD_MESSAGE = "/api/ext-v1/ticket/addMessage"


# --- helpers -----------------------------------------------------------------------------------


def create(http, tenant, **fields) -> str:
    body = {"title": "Device not connecting to WiFi", "customerEmail": "jane.roe@example.com", **fields}
    response = http.post(CREATE, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticketId"]


def get(http, tenant, ticket_id: str):
    return http.get(GET.format(ticket_id), headers=tenant.headers)


def got(http, tenant, ticket_id: str) -> dict:
    response = get(http, tenant, ticket_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["ticket"]


def query(http, tenant, **body):
    return http.post(QUERY, json=body, headers=tenant.headers)


def listed(http, tenant, **body) -> dict:
    response = query(http, tenant, **body)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["success"] is True
    assert isinstance(page["tickets"], list)
    for ticket in page["tickets"]:
        assert "messages" not in ticket
    return page


def ids_of(page: dict) -> list[str]:
    return [t["id"] for t in page["tickets"]]


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0), value
    return parsed


def walk(http, tenant, limit: int, between_pages=None, **filters) -> tuple[list[str], list[int]]:
    """Follow nextCursor to the end; returns every id seen (in order) and the page sizes."""
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(1000):
        body = {**filters, "limit": limit}
        if cursor is not None:
            body["cursor"] = cursor
        page = listed(http, tenant, **body)
        seen += ids_of(page)
        sizes.append(len(page["tickets"]))
        cursor = page["nextCursor"]
        if cursor is None:
            return seen, sizes
        if between_pages is not None:
            between_pages(len(sizes))
    raise AssertionError("the walk never ended")


# --- getTicket ----------------------------------------------------------------------------------


def test_get_ticket_returns_everything_about_it(http, tenant):
    before = datetime.now(UTC)
    ticket_id = create(
        http,
        tenant,
        title="Device overheating during charging",
        description="Gets hot when charging",
        priority="high",
        customerEmail="John.Doe@Example.com",
        category="battery",
        messages=[
            {"role": "customer", "content": "My device gets very hot when I plug it in to charge."},
            {"role": "bot", "content": "How long has this been happening?"},
            {"role": "customer", "content": "Started about a week ago after the latest update."},
        ],
    )
    response = get(http, tenant, ticket_id)
    assert response.status_code == 200
    assert response.headers.get("x-request-id")
    body = response.json()
    assert set(body) == {"success", "ticket"}
    ticket = body["ticket"]
    assert ticket["id"] == ticket_id
    assert ticket["title"] == "Device overheating during charging"
    assert ticket["description"] == "Gets hot when charging"
    assert ticket["descriptionGenerated"] is False
    assert ticket["priority"] == "high"
    assert ticket["status"] == "open"
    assert ticket["category"] == "Battery"
    assert ticket["categorySource"] == "provided"
    assert ticket["categoryConfidence"] is None
    assert ticket["customer"]["email"] == "john.doe@example.com"
    assert ticket["customer"]["name"] == "john.doe"
    assert ticket["customer"]["id"].startswith("cust_")
    assert ticket["assignee"] is None
    assert ticket["tags"] == []
    assert ticket["resolvedAt"] is None
    created_at = parse_time(ticket["createdAt"])
    assert before - timedelta(seconds=5) <= created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert parse_time(ticket["updatedAt"]) == created_at
    assert [(m["position"], m["role"], m["content"]) for m in ticket["messages"]] == [
        (0, "customer", "My device gets very hot when I plug it in to charge."),
        (1, "bot", "How long has this been happening?"),
        (2, "customer", "Started about a week ago after the latest update."),
    ]
    for message in ticket["messages"]:
        assert isinstance(message["id"], int)
        assert message["author"] is None  # written through the API, not by a team member
        parse_time(message["createdAt"])
    assert len({m["id"] for m in ticket["messages"]}) == 3


def test_get_ticket_shows_a_generated_description_and_no_category(http, tenant):
    ticket_id = create(http, tenant, messages=[{"role": "customer", "content": "WiFi drops every hour."}])
    ticket = got(http, tenant, ticket_id)
    assert ticket["descriptionGenerated"] is True
    assert "WiFi drops every hour." in ticket["description"]
    assert ticket["category"] is None
    assert ticket["categorySource"] == "none"
    assert ticket["priority"] == "medium"


def test_get_ticket_without_messages_has_an_empty_list(http, tenant):
    ticket = got(http, tenant, create(http, tenant))
    assert ticket["messages"] == []
    assert ticket["description"] == ""
    assert ticket["descriptionGenerated"] is False


def test_get_ticket_shows_the_tags_routing_added(http, db, tenant):
    db.run_sync(
        lambda conn: add_rule(
            Scoped(db, conn, tenant.id), name="Battery tags", conditions={"ticketCategory": ["Battery"]},
            actions={"addTags": ["power", "hardware"]},
        )
    )
    ticket = got(http, tenant, create(http, tenant, category="Battery"))
    assert ticket["tags"] == ["power", "hardware"]
    assert listed(http, tenant)["tickets"][0]["tags"] == ["power", "hardware"]
    assert got(http, tenant, create(http, tenant, category="Billing"))["tags"] == []


def test_get_ticket_shows_the_member_routing_assigned(http, db, tenant):
    def setup(conn):
        scoped = Scoped(db, conn, tenant.id)
        sam = add_member(scoped, email="Sam.Agent@example.com", name="Sam Agent")
        add_rule(scoped, name="Battery to Sam", conditions={"ticketCategory": ["Battery"]}, actions={"assignMember": sam["id"]})
        return sam

    sam = db.run_sync(setup)
    ticket = got(http, tenant, create(http, tenant, category="Battery"))
    assert ticket["assignee"] == {"id": sam["id"], "email": "sam.agent@example.com", "name": "Sam Agent"}


def test_get_ticket_says_which_rule_routed_it_and_why_as_create_did(http, db, tenant):
    rule = db.run_sync(
        lambda conn: add_rule(Scoped(db, conn, tenant.id), name="Battery urgent", conditions={"ticketCategory": ["Battery"]},
                              actions={"setPriority": "urgent"})
    )
    created = http.post("/api/ext-v1/ticket/createTicket", headers=tenant.headers,
                        json={"title": "Battery swells", "customerEmail": "a@example.com", "category": "Battery"}).json()
    ticket = got(http, tenant, created["ticketId"])
    assert ticket["routing"] == created["routing"]
    assert ticket["routing"]["ruleId"] == rule["id"]
    assert "Battery urgent" in ticket["routing"]["reason"]
    other = got(http, tenant, create(http, tenant, category="Billing"))
    assert other["routing"] == {"ruleId": None, "reason": "no routing rule matched"}


def test_get_ticket_accepts_the_id_in_upper_case(http, tenant):
    ticket_id = create(http, tenant)
    assert got(http, tenant, ticket_id.upper())["id"] == ticket_id


def test_get_ticket_with_a_bearer_key(http, tenant):
    ticket_id = create(http, tenant)
    response = http.get(GET.format(ticket_id), headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert response.status_code == 200
    assert response.json()["ticket"]["id"] == ticket_id


@pytest.mark.parametrize(
    "ticket_id",
    ["not-a-uuid", "12345", "cust_a1b2c3d4e5f6", str(uuid.uuid4()), "x" * 300, "%00", "a1b2c3d4-e5f6-7890-abcd-ef12345678901"],
    ids=["word", "number", "customer-id", "unknown-uuid", "very-long", "nul", "uuid-plus-one"],
)
def test_get_ticket_that_does_not_exist_is_404(http, tenant, ticket_id):
    body = assert_error(get(http, tenant, ticket_id), 404, "ticket_not_found")
    assert body["error"] == "Ticket not found"


def test_get_ticket_of_another_organization_is_404_like_an_unknown_id(http, tenant, other_tenant):
    ticket_id = create(http, tenant)
    theirs = assert_error(get(http, other_tenant, ticket_id), 404, "ticket_not_found")
    unknown = assert_error(get(http, other_tenant, str(uuid.uuid4())), 404, "ticket_not_found")
    assert theirs == unknown  # nothing tells B that the id exists
    assert got(http, tenant, ticket_id)["id"] == ticket_id


@pytest.mark.parametrize("ticket_id", ["not-a-uuid", None], ids=["bad-id", "real-id"])
@pytest.mark.parametrize("key", [None, "tlm_wrong"], ids=["no-key", "bad-key"])
def test_get_ticket_without_a_valid_key_is_401_whatever_the_id(http, tenant, key, ticket_id):
    ticket_id = ticket_id or create(http, tenant)
    headers = {"x-api-key": key} if key else {}
    response = http.get(GET.format(ticket_id), headers=headers)
    assert_error(response, 401, "invalid_api_key" if key else "missing_api_key")


def test_get_ticket_with_no_id_is_not_a_server_error(http, tenant):
    assert http.get("/api/ext-v1/ticket/getTicket/", headers=tenant.headers).status_code == 404
    assert http.get("/api/ext-v1/ticket/getTicket", headers=tenant.headers).status_code == 404


# --- queryTickets: results and filters ------------------------------------------------------------


def test_query_lists_newest_first_without_messages(http, tenant):
    first = create(http, tenant, title="first", messages=[{"role": "customer", "content": "hello"}])
    second = create(http, tenant, title="second")
    third = create(http, tenant, title="third", priority="urgent")
    page = listed(http, tenant)
    assert ids_of(page) == [third, second, first]
    assert page["nextCursor"] is None
    assert page["warnings"] == []
    summary = page["tickets"][0]
    full = got(http, tenant, third)
    # getTicket adds the conversation and why the ticket is where it is.
    assert full.pop("messages") == []
    assert full.pop("categoryCandidates") is None
    assert full.pop("routing") == {"ruleId": None, "reason": None}  # this organization has no rules
    assert full.pop("attachments") == []  # files of email tickets
    assert summary == full


def test_query_default_limit_is_20(http, tenant):
    for i in range(21):
        create(http, tenant, title=f"t{i}")
    page = listed(http, tenant)
    assert len(page["tickets"]) == 20
    assert page["nextCursor"] is not None
    rest = listed(http, tenant, cursor=page["nextCursor"])
    assert len(rest["tickets"]) == 1
    assert rest["nextCursor"] is None


def test_query_an_organization_with_no_tickets(http, tenant):
    page = listed(http, tenant)
    assert page["tickets"] == [] and page["nextCursor"] is None


def test_query_never_lists_another_organizations_tickets(http, tenant, other_tenant):
    mine = create(http, tenant, customerEmail="shared@example.com")
    theirs = create(http, other_tenant, customerEmail="shared@example.com")
    assert ids_of(listed(http, tenant)) == [mine]
    assert ids_of(listed(http, other_tenant)) == [theirs]
    # Nor through a filter naming the other organization's customer.
    their_customer = got(http, other_tenant, theirs)["customer"]["id"]
    assert ids_of(listed(http, tenant, customerId=their_customer)) == []
    assert ids_of(listed(http, tenant, customerEmail="SHARED@example.com")) == [mine]


def _set_status(http, tenant, ticket_id: str, status: str) -> None:
    response = http.post(UPDATE, json={"ticketId": ticket_id, "status": status}, headers=tenant.headers)
    assert response.status_code == 200, response.text


def test_query_by_status_one_or_several(http, tenant):
    open_ = create(http, tenant)
    progress = create(http, tenant)
    waiting = create(http, tenant)
    resolved = create(http, tenant)
    _set_status(http, tenant, progress, "in_progress")
    _set_status(http, tenant, waiting, "waiting_for_customer")
    _set_status(http, tenant, resolved, "resolved")
    assert ids_of(listed(http, tenant, status="open")) == [open_]
    assert ids_of(listed(http, tenant, status=["resolved"])) == [resolved]
    assert ids_of(listed(http, tenant, status=["open", "in_progress", "open"])) == [progress, open_]
    assert ids_of(listed(http, tenant, status=None)) == [resolved, waiting, progress, open_]


def test_query_by_status_as_the_documentation_writes_it(http, tenant):
    open_ = create(http, tenant)
    waiting = create(http, tenant)
    _set_status(http, tenant, waiting, "Waiting for customer")
    assert ids_of(listed(http, tenant, status="waiting for customer")) == [waiting]
    assert ids_of(listed(http, tenant, status=["Open", "in progress"])) == [open_]


def test_query_by_priority_one_or_several(http, tenant):
    low = create(http, tenant, priority="low")
    medium = create(http, tenant)
    urgent = create(http, tenant, priority="urgent")
    assert ids_of(listed(http, tenant, priority="low")) == [low]
    assert ids_of(listed(http, tenant, priority=["urgent", "medium"])) == [urgent, medium]
    assert ids_of(listed(http, tenant, priority="high")) == []


def test_query_by_category_name_ignoring_case_and_uncategorized(http, tenant, db):
    battery = create(http, tenant, category="Battery")
    wifi = create(http, tenant, category="connectivity")
    none = create(http, tenant)
    db.run_sync(lambda conn: add_category(Scoped(db, conn, tenant.id), name="Legacy", active=False))
    assert ids_of(listed(http, tenant, category="BATTERY")) == [battery]
    assert ids_of(listed(http, tenant, category="  Connectivity ")) == [wifi]
    assert ids_of(listed(http, tenant, category="none")) == [none]
    assert ids_of(listed(http, tenant, category="None")) == [none]
    assert ids_of(listed(http, tenant, category="legacy")) == []  # an inactive category is a valid filter
    assert listed(http, tenant, category="legacy")["warnings"] == []
    page = listed(http, tenant, category="Firmware")
    assert page["tickets"] == [] and page["nextCursor"] is None
    assert page["warnings"] == ["category 'Firmware' matches no category of this organization"]
    assert len(ids_of(listed(http, tenant, category=None))) == 3


def test_query_by_customer_id_and_email(http, tenant):
    ann = create(http, tenant, customerEmail="ann@example.com")
    bob = create(http, tenant, customerEmail="bob@example.com")
    ann_again = create(http, tenant, customerEmail="ANN@example.com ")
    ann_id = got(http, tenant, ann)["customer"]["id"]
    assert ids_of(listed(http, tenant, customerId=ann_id)) == [ann_again, ann]
    assert ids_of(listed(http, tenant, customerEmail=" Ann@Example.COM")) == [ann_again, ann]
    assert ids_of(listed(http, tenant, customerEmail="bob@example.com")) == [bob]
    assert ids_of(listed(http, tenant, customerEmail="ann@example.com", customerId=ann_id)) == [ann_again, ann]
    # Both given, naming two different customers: nothing matches both.
    assert ids_of(listed(http, tenant, customerEmail="bob@example.com", customerId=ann_id)) == []
    assert ids_of(listed(http, tenant, customerEmail="nobody@example.com")) == []
    assert ids_of(listed(http, tenant, customerId="cust_000000000000")) == []


def test_query_created_after_is_strict_and_accepts_iso_forms(http, tenant):
    old = create(http, tenant)
    new = create(http, tenant)
    cut = got(http, tenant, old)["createdAt"]
    assert ids_of(listed(http, tenant, createdAfter=cut)) == [new]
    cut_time = parse_time(cut)
    zulu = cut_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert ids_of(listed(http, tenant, createdAfter=zulu)) == [new]
    # The same instant in another offset, and a naive time (taken as UTC).
    plus_two = cut_time.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert ids_of(listed(http, tenant, createdAfter=plus_two)) == [new]
    assert ids_of(listed(http, tenant, createdAfter=cut_time.replace(tzinfo=None).isoformat())) == [new]
    assert ids_of(listed(http, tenant, createdAfter="2000-01-01")) == [new, old]
    assert ids_of(listed(http, tenant, createdAfter="2999-01-01T00:00:00Z")) == []


def test_query_updated_after_lists_the_oldest_change_first(http, tenant):
    a = create(http, tenant)
    b = create(http, tenant)
    c = create(http, tenant)
    since = got(http, tenant, c)["updatedAt"]
    _set_status(http, tenant, a, "in_progress")  # a changes first, then b
    response = http.post(ADD_MESSAGE, json={"ticketId": b, "role": "agent", "content": "On it"}, headers=tenant.headers)
    assert response.status_code == 200
    page = listed(http, tenant, updatedAfter=since)
    assert ids_of(page) == [a, b]
    times = [parse_time(t["updatedAt"]) for t in page["tickets"]]
    assert times == sorted(times)
    assert ids_of(listed(http, tenant, updatedAfter="2000-01-01T00:00:00Z")) == [c, a, b]
    # Polling again from the last change seen gives nothing new.
    assert ids_of(listed(http, tenant, updatedAfter=page["tickets"][-1]["updatedAt"])) == []


def test_query_filters_combine(http, tenant):
    wanted = create(http, tenant, priority="high", category="Battery", customerEmail="ann@example.com")
    create(http, tenant, priority="low", category="Battery", customerEmail="ann@example.com")
    create(http, tenant, priority="high", category="Billing", customerEmail="ann@example.com")
    create(http, tenant, priority="high", category="Battery", customerEmail="bob@example.com")
    page = listed(
        http,
        tenant,
        status="open",
        priority=["high", "urgent"],
        category="battery",
        customerEmail="ann@example.com",
        createdAfter="2000-01-01",
        updatedAfter="2000-01-01",
    )
    assert ids_of(page) == [wanted]


def test_query_names_unknown_fields_in_warnings(http, tenant):
    create(http, tenant)
    page = listed(http, tenant, statuss="open", page_size=5)
    assert len(page["tickets"]) == 1
    assert "Unknown field 'statuss' was ignored (did you mean 'status'?)" in page["warnings"]
    assert any("page_size" in w for w in page["warnings"])


# --- queryTickets: pagination -----------------------------------------------------------------------


def test_walk_250_tickets_in_pages_of_100_while_new_tickets_arrive(http, tenant):
    existing = [create(http, tenant, title=f"ticket {i}") for i in range(250)]
    arrived: list[str] = []

    def more_tickets(_page: int) -> None:
        arrived.extend(create(http, tenant, title="arrived during the walk") for _ in range(7))

    seen, sizes = walk(http, tenant, 100, between_pages=more_tickets)
    assert sizes == [100, 100, 50]
    assert len(seen) == len(set(seen)) == 250  # no duplicate
    assert seen == list(reversed(existing))  # no gap, newest first
    assert not set(arrived) & set(seen)
    # A new walk sees everything.
    again, _ = walk(http, tenant, 100)
    assert set(again) == set(existing) | set(arrived)


def test_walk_by_updated_after_skips_nothing_while_tickets_change(http, tenant):
    existing = [create(http, tenant, title=f"ticket {i}") for i in range(30)]
    changed: list[str] = []

    def change_some(page: int) -> None:
        # Change a ticket the walk has already passed and one it has not reached yet.
        if page > 2:
            return
        for ticket_id in (existing[page * 10 - 1], existing[page * 10 + 5]):
            _set_status(http, tenant, ticket_id, "in_progress")
            changed.append(ticket_id)

    seen, _ = walk(http, tenant, 10, between_pages=change_some, updatedAfter="2000-01-01T00:00:00Z")
    assert set(seen) == set(existing)  # none skipped
    duplicates = {t for t in seen if seen.count(t) > 1}
    assert duplicates <= set(changed)  # only a changed ticket comes again, with its new state
    assert duplicates  # the ones changed behind the walk's position


def test_tickets_created_in_the_same_microsecond_are_paged_by_id(http, tenant, db):
    customer_id = got(http, tenant, create(http, tenant))["customer"]["id"]
    same_time = datetime(2030, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "organization_id": tenant.id,
            "customer_id": customer_id,
            "title": f"twin {i}",
            "description": "",
            "description_generated": False,
            "priority": "medium",
            "status": "open",
            "category_source": "none",
            "created_at": same_time,
            "updated_at": same_time,
        }
        for i in range(23)
    ]
    db.run_sync(lambda conn: conn.execute(tickets.insert(), rows))
    seen, sizes = walk(http, tenant, 5, createdAfter="2029-12-31T23:59:59Z")
    assert sizes == [5, 5, 5, 5, 3]
    assert seen == sorted((r["id"] for r in rows), reverse=True)
    seen, _ = walk(http, tenant, 4, updatedAfter="2029-12-31T23:59:59Z")
    assert seen == sorted(r["id"] for r in rows)


def test_limit_may_change_between_pages(http, tenant):
    made = [create(http, tenant) for _ in range(7)]
    first = listed(http, tenant, limit=2)
    second = listed(http, tenant, limit=5, cursor=first["nextCursor"])
    assert ids_of(first) + ids_of(second) == list(reversed(made))
    assert second["nextCursor"] is None


def test_exact_multiple_of_the_limit_ends_without_an_empty_page(http, tenant):
    for _ in range(4):
        create(http, tenant)
    seen, sizes = walk(http, tenant, 2)
    assert sizes == [2, 2]


def test_null_is_the_same_as_leaving_a_filter_out(http, tenant):
    for _ in range(3):
        create(http, tenant)
    nulls = {k: None for k in ("status", "priority", "category", "customerId", "customerEmail", "createdAfter",
                               "updatedAfter", "limit", "cursor")}
    assert [t["id"] for t in listed(http, tenant, **nulls)["tickets"]] == [t["id"] for t in listed(http, tenant)["tickets"]]


def test_limit_bounds(http, tenant):
    for _ in range(3):
        create(http, tenant)
    assert len(listed(http, tenant, limit=1)["tickets"]) == 1
    assert len(listed(http, tenant, limit=100)["tickets"]) == 3


# --- queryTickets: errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, code, field, words",
    [
        ({"status": "closed"}, "invalid_status", "status", ["closed", "in_progress"]),
        ({"status": ["open", "closed"]}, "invalid_status", "status[1]", ["closed"]),
        ({"status": []}, "empty_field", "status", ["empty"]),
        ({"status": ""}, "empty_field", "status", ["empty", "null"]),
        ({"priority": ["high", " "]}, "empty_field", "priority[1]", ["empty"]),
        ({"status": 3}, "invalid_type", "status", ["string"]),
        ({"status": ["open", None]}, "invalid_type", "status[1]", ["string"]),
        ({"priority": "critical"}, "invalid_priority", "priority", ["critical", "urgent"]),
        ({"priority": ["HIGH"]}, "invalid_priority", "priority[0]", ["HIGH"]),
        ({"limit": 0}, "invalid_limit", "limit", ["1", "100"]),
        ({"limit": 101}, "invalid_limit", "limit", ["100"]),
        ({"limit": -5}, "invalid_limit", "limit", []),
        ({"limit": "20"}, "invalid_limit", "limit", []),
        ({"limit": 20.5}, "invalid_limit", "limit", []),
        ({"limit": True}, "invalid_limit", "limit", ["(got true)"]),  # JSON, as the client wrote it
        ({"limit": {"a": None}}, "invalid_limit", "limit", ['(got {"a":null})']),
        ({"createdAfter": "yesterday"}, "invalid_datetime", "createdAfter", ["ISO 8601"]),
        ({"createdAfter": "2026-13-01"}, "invalid_datetime", "createdAfter", []),
        ({"createdAfter": "0001-01-01T00:00:00+01:00"}, "invalid_datetime", "createdAfter", []),
        ({"updatedAfter": "2026-01-01T25:00:00Z"}, "invalid_datetime", "updatedAfter", []),
        ({"updatedAfter": 1700000000}, "invalid_type", "updatedAfter", ["string"]),
        ({"category": 5}, "invalid_type", "category", ["string"]),
        ({"category": ""}, "empty_field", "category", ["empty"]),
        ({"category": "Bat\u0000tery"}, "invalid_character", "category", ["NUL"]),
        ({"customerId": "   "}, "empty_field", "customerId", []),
        ({"customerId": "cust_\u0000"}, "invalid_character", "customerId", []),
        ({"customerEmail": "not-an-email"}, "invalid_email", "customerEmail", []),
        ({"customerEmail": "a\u0000b@example.com"}, "invalid_character", "customerEmail", ["NUL"]),
        ({"cursor": 12}, "invalid_type", "cursor", []),
        ({"cursor": ""}, "empty_field", "cursor", []),
    ],
)
def test_query_with_a_bad_filter_is_400(http, tenant, body, code, field, words):
    assert_error(query(http, tenant, **body), 400, code, field, words)


@pytest.mark.parametrize(
    "content, code",
    [(b"{not json", "invalid_json"), (b"", "invalid_json"), (b"[]", "invalid_body"), (b'"open"', "invalid_body")],
)
def test_query_with_a_body_that_is_not_an_object_is_400(http, tenant, content, code):
    headers = {**tenant.headers, "Content-Type": "application/json"}
    assert_error(http.post(QUERY, content=content, headers=headers), 400, code)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "x" * 600,
        _b64(b"not json"),
        _b64(b"{}"),
        _b64(b"[1,2,3]"),
        _b64(json.dumps([1, "c", "yesterday", str(uuid.uuid4()), "0" * 16]).encode()),
        _b64(json.dumps([1, "c", "2026-01-01T00:00:00+00:00", "not-a-uuid", "0" * 16]).encode()),
        _b64(json.dumps([2, "c", "2026-01-01T00:00:00+00:00", str(uuid.uuid4()), "0" * 16]).encode()),
        _b64(json.dumps([1, "c", "2026-01-01T00:00:00", str(uuid.uuid4()), "0" * 16]).encode()),
        _b64(b"\xff\xfe"),
    ],
    ids=[
        "word", "punctuation", "too-long", "not-json", "object", "short-array", "bad-time",
        "bad-id", "other-version", "naive-time", "not-utf8",
    ],
)
def test_query_with_a_garbage_cursor_is_400(http, tenant, cursor):
    create(http, tenant)
    assert_error(query(http, tenant, cursor=cursor), 400, "invalid_cursor", "cursor", ["nextCursor"])


@pytest.mark.parametrize(
    "first, then",
    [
        ({"status": "open"}, {"status": "resolved"}),
        ({"status": "open"}, {}),
        ({}, {"priority": "medium"}),
        ({"category": "Battery"}, {"category": "Billing"}),
        ({"customerEmail": "ann@example.com"}, {"customerEmail": "bob@example.com"}),
        ({"createdAfter": "2000-01-01"}, {"createdAfter": "2000-01-02"}),
        ({}, {"updatedAfter": "2000-01-01"}),
        ({"updatedAfter": "2000-01-01"}, {}),
    ],
    ids=["status", "status-dropped", "priority-added", "category", "customer", "created-after", "order-u", "order-c"],
)
def test_cursor_with_other_filters_is_400(http, tenant, first, then):
    for _ in range(3):
        create(http, tenant, category="Battery", customerEmail="ann@example.com")
    cursor = listed(http, tenant, limit=1, **first)["nextCursor"]
    assert cursor is not None
    assert_error(query(http, tenant, limit=1, cursor=cursor, **then), 400, "cursor_mismatch", "cursor", ["filters"])


def test_equivalent_filters_keep_the_cursor_valid(http, tenant):
    """The same filters written differently (order of a list, case, spaces, one item vs a list) are the same query."""
    for _ in range(3):
        create(http, tenant, category="Battery", customerEmail="ann@example.com")
    first = listed(http, tenant, limit=1, status=["open", "in_progress"], category="battery", customerEmail="Ann@example.com")
    second = listed(
        http, tenant, limit=1, status=["in_progress", "open"], category=" BATTERY ", customerEmail="ann@example.com",
        cursor=first["nextCursor"],
    )
    assert len(second["tickets"]) == 1
    single = listed(http, tenant, limit=1, status="open")
    assert listed(http, tenant, limit=1, status=["open"], cursor=single["nextCursor"])["tickets"]


def test_another_organizations_cursor_shows_nothing_of_theirs(http, tenant, other_tenant):
    for _ in range(3):
        create(http, tenant)
    mine = create(http, other_tenant)
    cursor = listed(http, tenant, limit=1)["nextCursor"]
    page = query(http, other_tenant, limit=1, cursor=cursor)
    # The cursor only says where to start; B's query stays B's.
    if page.status_code == 200:
        assert set(ids_of(page.json())) <= {mine}
    else:
        assert_error(page, 400, "cursor_mismatch")


@pytest.mark.parametrize("key", [None, "tlm_wrong"], ids=["no-key", "bad-key"])
@pytest.mark.parametrize("body", [{}, {"status": "closed"}, b"{not json"], ids=["valid", "invalid", "not-json"])
def test_query_without_a_valid_key_is_401_whatever_the_body(http, tenant, key, body):
    create(http, tenant)
    headers = {"Content-Type": "application/json", **({"x-api-key": key} if key else {})}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert_error(http.post(QUERY, content=content, headers=headers), 401, "invalid_api_key" if key else "missing_api_key")


# --- OpenAPI --------------------------------------------------------------------------------------


def test_openapi_documents_get_ticket_with_its_path_parameter(http):
    schema = http.get("/openapi.json").json()
    operation = schema["paths"]["/api/ext-v1/ticket/getTicket/{ticketId}"]["get"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["ticketId"]
    assert set(operation["responses"]) == {"200", "401", "404", "429", "500"}
    assert operation["security"]


@pytest.mark.parametrize(
    "path, statuses",
    [
        ("queryTickets", {"200", "400", "401", "413", "429", "500"}),
        ("updateTicket", {"200", "400", "401", "404", "413", "429", "500"}),
        ("addMessage", {"200", "400", "401", "404", "413", "422", "429", "500"}),
    ],
)
def test_openapi_documents_the_ticket_endpoints(http, path, statuses):
    schema = http.get("/openapi.json").json()
    operation = schema["paths"][f"/api/ext-v1/ticket/{path}"]["post"]
    assert set(operation["responses"]) == statuses
    assert operation["requestBody"]["content"]["application/json"]["examples"]
    for status, response in operation["responses"].items():
        content = response["content"]["application/json"]
        if status != "200":
            assert all(e["value"]["code"] for e in content["examples"].values())
    text = json.dumps(schema)
    for ref in (
        "QueryTicketsRequest", "QueryTicketsResponse", "UpdateTicketRequest", "UpdateTicketResponse",
        "AddMessageRequest", "AddMessageResponse", "GetTicketResponse", "TicketDetail", "TicketSummary",
    ):
        assert f"#/components/schemas/{ref}" in text and ref in schema["components"]["schemas"]
    # Every $ref resolves.
    for name in set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text)):
        assert name in schema["components"]["schemas"], name


def test_read_only_endpoints_store_nothing(http, db, tenant):
    ticket_id = create(http, tenant)
    before = count(db, "select count(*) from tickets where organization_id = :o and updated_at = created_at", o=tenant.id)
    got(http, tenant, ticket_id)
    listed(http, tenant)
    after = count(db, "select count(*) from tickets where organization_id = :o and updated_at = created_at", o=tenant.id)
    assert before == after == 1
