"""Customer endpoints (tests/spec/telemetron-ext-v1.md, "Customers"): createOrUpdateCustomer,
queryCustomer, getCustomer.

Each case checks what a client sees (status, body, ``code``/``field`` of errors, the spec's
messages verbatim) and what is stored. ``tenant`` is organization A, ``other_tenant`` B.
"""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from tests.support.databases import count
from tests.support.http import ok, post, rejected

BASE = "/api/ext-v1"
CREATE = f"{BASE}/customer/createOrUpdateCustomer"
QUERY = f"{BASE}/customer/queryCustomer"
GET = f"{BASE}/customer/getCustomer"
CUSTOMER_ID = re.compile(r"^cust_[0-9a-f]{12}$")
NOT_FOUND_FOR_ORG = "Customer not found or does not belong to this organization"


# --- helpers -----------------------------------------------------------------------------------


def create(http, tenant, **fields) -> dict:
    body = {"email": f"{uuid.uuid4().hex[:10]}@example.com", **fields}
    return ok(post(http, CREATE, tenant, body))


def row(db, customer_id: str) -> dict | None:
    with db.engine.connect() as conn:
        found = conn.execute(
            text(
                "select c.id, c.organization_id, c.email, c.name, c.phone, c.address, c.category_id,"
                " c.created_at, c.updated_at, g.name as category"
                " from customers c left join categories g on g.id = c.category_id where c.id = :i"
            ),
            {"i": customer_id},
        ).mappings().first()
    if found is None:
        return None
    return {k: _as_datetime(v) if k.endswith("_at") else v for k, v in found.items()}


def _as_datetime(value):
    """Raw SQL gives SQLite's timestamps as naive UTC strings and PostgreSQL's as aware datetimes."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def customers_of(db, tenant) -> int:
    return count(db, "select count(*) from customers where organization_id = :o", o=tenant.id)


def add_device(http, tenant, identifier: str, device_type: str = "Thermostat") -> str:
    response = post(http, f"{BASE}/device", tenant, {"identifier": identifier, "type": device_type})
    return ok(response)["deviceId"]


def assign(http, tenant, identifier: str, *emails: str) -> None:
    body = {"deviceIdentifier": identifier, "customerEmails": list(emails)}
    ok(post(http, f"{BASE}/deviceAssignment/assignDeviceToOwners", tenant, body))


# --- createOrUpdateCustomer: create -------------------------------------------------------------


def test_create_returns_the_new_id_and_stores_the_customer(http, db, tenant):
    response = post(
        http,
        CREATE,
        tenant,
        {
            "name": "John Doe",
            "email": "  John.Doe@Example.COM ",
            "phone": "+1234567890",
            "address": "123 Main St, City, State 12345",
        },
    )
    body = ok(response)
    assert set(body) == {"success", "telemetronCustomerId", "message"}
    assert body["message"] == "Customer created successfully"
    assert CUSTOMER_ID.match(body["telemetronCustomerId"])
    stored = row(db, body["telemetronCustomerId"])
    assert stored["organization_id"] == tenant.id
    assert stored["email"] == "john.doe@example.com"
    assert (stored["name"], stored["phone"], stored["address"]) == (
        "John Doe",
        "+1234567890",
        "123 Main St, City, State 12345",
    )
    assert stored["category_id"] is None
    assert customers_of(db, tenant) == 1


def test_create_without_name_defaults_to_the_part_before_the_at_sign(http, db, tenant):
    body = ok(post(http, CREATE, tenant, {"email": "Jane.Roe@example.com"}))
    stored = row(db, body["telemetronCustomerId"])
    assert stored["name"] == "jane.roe"
    assert stored["phone"] is None and stored["address"] is None


@pytest.mark.parametrize("name", ["", "   ", None])
def test_create_with_a_blank_or_null_name_uses_the_default(http, db, tenant, name):
    body = ok(post(http, CREATE, tenant, {"email": "blank.name@example.com", "name": name}))
    assert row(db, body["telemetronCustomerId"])["name"] == "blank.name"


def test_create_trims_the_fields(http, db, tenant):
    body = ok(post(http, CREATE, tenant, {"email": "t@example.com", "name": "  Tom  ", "phone": " 123 ", "address": " A "}))
    stored = row(db, body["telemetronCustomerId"])
    assert (stored["name"], stored["phone"], stored["address"]) == ("Tom", "123", "A")


def test_create_with_an_existing_email_is_409_with_the_existing_id(http, db, tenant):
    first = ok(post(http, CREATE, tenant, {"email": "dup@example.com", "name": "First"}))
    response = post(http, CREATE, tenant, {"email": "  DUP@Example.com", "name": "Second"})
    body = rejected(response, 409, "customer_exists", field="email")
    assert body["telemetronCustomerId"] == first["telemetronCustomerId"]
    assert customers_of(db, tenant) == 1
    assert row(db, first["telemetronCustomerId"])["name"] == "First"


def test_create_for_an_email_created_by_create_ticket_is_409(http, db, tenant):
    ticket = ok(post(http, f"{BASE}/ticket/createTicket", tenant, {"title": "Hi", "customerEmail": "tix@example.com"}))
    body = rejected(post(http, CREATE, tenant, {"email": "tix@example.com"}), 409, "customer_exists")
    assert body["telemetronCustomerId"] == ticket["customerId"]


def test_the_same_email_in_two_organizations_makes_two_customers(http, db, tenant, other_tenant):
    in_a = ok(post(http, CREATE, tenant, {"email": "shared@example.com"}))
    in_b = ok(post(http, CREATE, other_tenant, {"email": "shared@example.com"}))
    assert in_a["telemetronCustomerId"] != in_b["telemetronCustomerId"]
    assert row(db, in_a["telemetronCustomerId"])["organization_id"] == tenant.id
    assert row(db, in_b["telemetronCustomerId"])["organization_id"] == other_tenant.id


def test_unknown_fields_are_ignored(http, db, tenant):
    body = ok(post(http, CREATE, tenant, {"email": "x@example.com", "nickname": "X", "orders": [1, 2]}))
    assert row(db, body["telemetronCustomerId"])["email"] == "x@example.com"


def test_blank_telemetron_customer_id_creates(http, db, tenant):
    body = ok(post(http, CREATE, tenant, {"email": "blank.id@example.com", "telemetronCustomerId": "  "}))
    assert body["message"] == "Customer created successfully"
    assert customers_of(db, tenant) == 1


# --- createOrUpdateCustomer: update -------------------------------------------------------------


def test_update_changes_the_given_fields_and_keeps_the_others(http, db, tenant):
    customer_id = create(http, tenant, email="upd@example.com", name="Old", phone="111", address="Old St")[
        "telemetronCustomerId"
    ]
    before = row(db, customer_id)
    response = post(
        http, CREATE, tenant, {"telemetronCustomerId": customer_id, "email": "UPD@example.com", "phone": "222"}
    )
    body = ok(response)
    assert body == {"success": True, "telemetronCustomerId": customer_id, "message": "Customer updated successfully"}
    after = row(db, customer_id)
    assert (after["email"], after["name"], after["phone"], after["address"]) == ("upd@example.com", "Old", "222", "Old St")
    assert after["updated_at"] >= before["updated_at"]
    assert after["created_at"] == before["created_at"]
    assert customers_of(db, tenant) == 1


def test_update_with_empty_strings_clears_phone_and_address_but_not_name(http, db, tenant):
    customer_id = create(http, tenant, email="clr@example.com", name="Kept", phone="111", address="St")[
        "telemetronCustomerId"
    ]
    body = {"telemetronCustomerId": customer_id, "email": "clr@example.com", "name": "", "phone": "", "address": " "}
    ok(post(http, CREATE, tenant, body))
    after = row(db, customer_id)
    assert (after["name"], after["phone"], after["address"]) == ("Kept", None, None)


def test_update_with_null_leaves_fields_unchanged(http, db, tenant):
    customer_id = create(http, tenant, email="nul@example.com", phone="111")["telemetronCustomerId"]
    ok(post(http, CREATE, tenant, {"telemetronCustomerId": customer_id, "email": "nul@example.com", "phone": None}))
    assert row(db, customer_id)["phone"] == "111"


def test_update_can_change_the_email(http, db, tenant):
    customer_id = create(http, tenant, email="before@example.com")["telemetronCustomerId"]
    ok(post(http, CREATE, tenant, {"telemetronCustomerId": customer_id, "email": "After@Example.com"}))
    assert row(db, customer_id)["email"] == "after@example.com"
    # The new email finds the customer; the old one finds nobody.
    assert ok(post(http, QUERY, tenant, {"email": "after@example.com"}))["id"] == customer_id
    rejected(post(http, QUERY, tenant, {"email": "before@example.com"}), 404, "customer_not_found")


def test_update_to_another_customers_email_is_409_with_that_customers_id(http, db, tenant):
    taken = create(http, tenant, email="taken@example.com")["telemetronCustomerId"]
    mine = create(http, tenant, email="mine@example.com", name="Mine")["telemetronCustomerId"]
    response = post(http, CREATE, tenant, {"telemetronCustomerId": mine, "email": "TAKEN@example.com", "name": "New"})
    body = rejected(response, 409, "customer_exists", field="email")
    assert body["telemetronCustomerId"] == taken
    stored = row(db, mine)
    assert (stored["email"], stored["name"]) == ("mine@example.com", "Mine")


def test_update_of_an_unknown_id_is_404(http, db, tenant):
    response = post(http, CREATE, tenant, {"telemetronCustomerId": "cust_000000000000", "email": "who@example.com"})
    rejected(response, 404, "customer_not_found", field="telemetronCustomerId", message=NOT_FOUND_FOR_ORG)
    assert customers_of(db, tenant) == 0


def test_update_of_another_organizations_customer_is_404_and_changes_nothing(http, db, tenant, other_tenant):
    theirs = create(http, other_tenant, email="theirs@example.com", name="Theirs")["telemetronCustomerId"]
    response = post(http, CREATE, tenant, {"telemetronCustomerId": theirs, "email": "theirs@example.com", "name": "Mine"})
    rejected(response, 404, "customer_not_found", field="telemetronCustomerId", message=NOT_FOUND_FOR_ORG)
    assert row(db, theirs)["name"] == "Theirs"
    assert customers_of(db, tenant) == 0


# --- categories -----------------------------------------------------------------------------------


def test_category_is_matched_ignoring_case_and_shown_in_the_record(http, db, tenant):
    customer_id = create(http, tenant, email="cat@example.com", category="  connectivity ")["telemetronCustomerId"]
    assert row(db, customer_id)["category"] == "Connectivity"
    assert ok(http.get(f"{GET}/{customer_id}", headers=tenant.headers))["category"] == "Connectivity"


def test_category_can_be_changed_kept_and_cleared(http, db, tenant):
    customer_id = create(http, tenant, email="cat2@example.com", category="Battery")["telemetronCustomerId"]
    ok(post(http, CREATE, tenant, {"telemetronCustomerId": customer_id, "email": "cat2@example.com", "category": "billing"}))
    assert row(db, customer_id)["category"] == "Billing"
    ok(post(http, CREATE, tenant, {"telemetronCustomerId": customer_id, "email": "cat2@example.com"}))
    assert row(db, customer_id)["category"] == "Billing"
    ok(post(http, CREATE, tenant, {"telemetronCustomerId": customer_id, "email": "cat2@example.com", "category": ""}))
    assert row(db, customer_id)["category_id"] is None


def test_unknown_category_is_400_and_nothing_is_stored(http, db, tenant):
    response = post(http, CREATE, tenant, {"email": "nocat@example.com", "category": "Shipping"})
    rejected(response, 400, "unknown_category", field="category", words=["Shipping"])
    assert customers_of(db, tenant) == 0


def test_inactive_category_is_refused(http, db, tenant):
    db.run_sync(lambda conn: add_category(Scoped(db, conn, tenant.id), name="Legacy", active=False))
    rejected(post(http, CREATE, tenant, {"email": "old@example.com", "category": "Legacy"}), 400, "unknown_category")


def test_another_organizations_category_is_refused(http, db, tenant, other_tenant):
    db.run_sync(lambda conn: add_category(Scoped(db, conn, other_tenant.id), name="Theirs Only"))
    rejected(post(http, CREATE, tenant, {"email": "o@example.com", "category": "Theirs Only"}), 400, "unknown_category")
    assert customers_of(db, tenant) == 0


def test_unknown_category_on_update_changes_nothing(http, db, tenant):
    customer_id = create(http, tenant, email="keep@example.com", name="Keep")["telemetronCustomerId"]
    body = {"telemetronCustomerId": customer_id, "email": "keep@example.com", "name": "Changed", "category": "Nope"}
    rejected(post(http, CREATE, tenant, body), 400, "unknown_category")
    assert row(db, customer_id)["name"] == "Keep"


# --- createOrUpdateCustomer: invalid requests -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{}, {"email": None}, {"email": ""}, {"email": "   "}, {"name": "No Email"}],
    ids=["missing", "null", "empty", "blank", "only-name"],
)
def test_email_is_required(http, db, tenant, body):
    rejected(post(http, CREATE, tenant, body), 400, "missing_field", field="email", message="Email is required")
    assert customers_of(db, tenant) == 0


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"email": "not-an-email"}, "invalid_email", "email"),
        ({"email": "a@b@c.com"}, "invalid_email", "email"),
        ({"email": 42}, "invalid_type", "email"),
        ({"email": ["a@example.com"]}, "invalid_type", "email"),
        ({"email": "a@example.com", "name": 7}, "invalid_type", "name"),
        ({"email": "a@example.com", "phone": 1234567}, "invalid_type", "phone"),
        ({"email": "a@example.com", "address": {"street": "x"}}, "invalid_type", "address"),
        ({"email": "a@example.com", "telemetronCustomerId": 12}, "invalid_type", "telemetronCustomerId"),
        ({"email": "a@example.com", "category": True}, "invalid_type", "category"),
        ({"email": "a@example.com", "name": "x" * 256}, "field_too_long", "name"),
        ({"email": "a@example.com", "phone": "1" * 65}, "field_too_long", "phone"),
        ({"email": "a@example.com", "address": "x" * 2001}, "field_too_long", "address"),
        ({"email": "a@example.com", "name": "bad\u0000name"}, "invalid_character", "name"),
        ({"email": "a@example.com", "address": "\u0000"}, "invalid_character", "address"),
        ({"email": "a\u0000@example.com"}, "invalid_character", "email"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(http, db, tenant, body, code, field):
    response = post(http, CREATE, tenant, body)
    error = rejected(response, 400, code, field=field)
    assert field in error["error"]
    assert customers_of(db, tenant) == 0


def test_name_of_255_characters_is_accepted(http, db, tenant):
    customer_id = create(http, tenant, name="n" * 255)["telemetronCustomerId"]
    assert row(db, customer_id)["name"] == "n" * 255


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"{not json", "invalid_json"), (b"", "invalid_json"), (b"[]", "invalid_body"), (b'"email"', "invalid_body")],
)
def test_a_body_that_is_not_a_json_object_is_400(http, db, tenant, content, code):
    body = rejected(post(http, CREATE, tenant, content=content), 400, code)
    if code == "invalid_json":
        assert body["error"].startswith("Invalid JSON payload")
    assert customers_of(db, tenant) == 0


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", CREATE, {"email": "auth@example.com"}),
        ("POST", QUERY, {"email": "auth@example.com"}),
        ("GET", f"{GET}/cust_000000000000", None),
        ("GET", f"{GET}/", None),
    ],
)
def test_no_key_or_a_wrong_key_is_401_whatever_the_body(http, db, method, path, body):
    before = count(db, "select count(*) from customers")
    response = http.request(method, path, json=body)
    rejected(response, 401, "missing_api_key", words=["API key"])
    response = http.request(method, path, json=body, headers={"x-api-key": "tlm_" + "x" * 43})
    rejected(response, 401, "invalid_api_key")
    if method == "POST":  # an invalid body still gets the 401 first
        response = http.request(method, path, content=b"{nope", headers={"x-api-key": "tlm_wrong"})
        rejected(response, 401, "invalid_api_key")
    assert count(db, "select count(*) from customers") == before


def test_the_key_can_be_sent_as_a_bearer_token(http, db, tenant):
    response = http.post(CREATE, json={"email": "bearer@example.com"}, headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert row(db, ok(response)["telemetronCustomerId"])["organization_id"] == tenant.id


# --- queryCustomer / getCustomer ------------------------------------------------------------------

RECORD_FIELDS = {
    "success",
    "message",
    "id",
    "organizationId",
    "name",
    "email",
    "phone",
    "address",
    "category",
    "devices",
    "metadata",
    "createdAt",
    "updatedAt",
}


def test_query_returns_the_customer_record(http, db, tenant):
    customer_id = create(http, tenant, email="rec@example.com", name="Rec", phone="+1", address="1 St")[
        "telemetronCustomerId"
    ]
    body = ok(post(http, QUERY, tenant, {"email": "rec@example.com"}))
    assert set(body) == RECORD_FIELDS
    assert body["id"] == customer_id
    assert body["organizationId"] == tenant.id
    assert (body["name"], body["email"], body["phone"], body["address"]) == ("Rec", "rec@example.com", "+1", "1 St")
    assert body["category"] is None
    assert body["devices"] == []
    assert body["metadata"] == {}
    stored = row(db, customer_id)
    assert datetime.fromisoformat(body["createdAt"]) == stored["created_at"]
    assert datetime.fromisoformat(body["updatedAt"]) == stored["updated_at"]
    assert datetime.fromisoformat(body["createdAt"]).utcoffset() is not None


@pytest.mark.parametrize("email", ["REC2@EXAMPLE.COM", "  rec2@example.com  ", "Rec2@Example.com"])
def test_query_ignores_case_and_surrounding_spaces(http, tenant, email):
    customer_id = create(http, tenant, email="rec2@example.com")["telemetronCustomerId"]
    assert ok(post(http, QUERY, tenant, {"email": email}))["id"] == customer_id


def test_the_record_lists_the_customers_devices(http, db, tenant):
    customer_id = create(http, tenant, email="owner@example.com")["telemetronCustomerId"]
    second = add_device(http, tenant, "SN-B", "Sensor")
    first = add_device(http, tenant, "SN-A", "Thermostat")
    add_device(http, tenant, "SN-NOT-MINE")
    assign(http, tenant, "SN-B", "owner@example.com")
    assign(http, tenant, "SN-A", "owner@example.com", "someone.else@example.com")
    expected = [
        {"deviceId": first, "identifier": "SN-A", "type": "Thermostat"},
        {"deviceId": second, "identifier": "SN-B", "type": "Sensor"},
    ]
    assert ok(post(http, QUERY, tenant, {"email": "owner@example.com"}))["devices"] == expected
    assert ok(http.get(f"{GET}/{customer_id}", headers=tenant.headers))["devices"] == expected


@pytest.mark.parametrize("body", [{}, {"email": None}, {"email": ""}, {"email": "  "}])
def test_query_without_email_is_400(http, tenant, body):
    rejected(post(http, QUERY, tenant, body), 400, "missing_field", field="email", message="Email is required")


def test_query_with_an_invalid_email_is_400(http, tenant):
    rejected(post(http, QUERY, tenant, {"email": "nope"}), 400, "invalid_email", field="email")
    rejected(post(http, QUERY, tenant, {"email": 5}), 400, "invalid_type", field="email")
    rejected(post(http, QUERY, tenant, content=b"[1]"), 400, "invalid_body")


def test_query_of_an_unknown_email_is_404(http, db, tenant):
    rejected(post(http, QUERY, tenant, {"email": "ghost@example.com"}), 404, "customer_not_found", message="Customer not found")
    assert customers_of(db, tenant) == 0  # a query creates nothing


def test_query_of_another_organizations_customer_is_404(http, tenant, other_tenant):
    create(http, other_tenant, email="b.only@example.com")
    rejected(post(http, QUERY, tenant, {"email": "b.only@example.com"}), 404, "customer_not_found", message="Customer not found")


def test_get_returns_the_same_record_as_query(http, tenant):
    customer_id = create(http, tenant, email="same@example.com", name="Same", category="Battery")["telemetronCustomerId"]
    by_id = ok(http.get(f"{GET}/{customer_id}", headers=tenant.headers))
    by_email = ok(post(http, QUERY, tenant, {"email": "same@example.com"}))
    assert by_id == by_email
    assert by_id["category"] == "Battery"


def test_get_of_an_unknown_id_is_404(http, tenant):
    response = http.get(f"{GET}/cust_ffffffffffff", headers=tenant.headers)
    rejected(response, 404, "customer_not_found", field="telemetronCustomerId", message=NOT_FOUND_FOR_ORG)


def test_get_of_another_organizations_customer_is_404(http, tenant, other_tenant):
    theirs = create(http, other_tenant)["telemetronCustomerId"]
    response = http.get(f"{GET}/{theirs}", headers=tenant.headers)
    rejected(response, 404, "customer_not_found", message=NOT_FOUND_FOR_ORG)


@pytest.mark.parametrize("suffix", ["/", "/%20", "/%20%20"])
def test_get_without_an_id_is_400(http, tenant, suffix):
    response = http.get(f"{GET}{suffix}", headers=tenant.headers)
    rejected(response, 400, "missing_field", field="telemetronCustomerId", message="Customer ID is required")


def test_get_without_the_trailing_slash_leads_to_the_same_400(http, tenant):
    response = http.get(GET, headers=tenant.headers, follow_redirects=True)
    rejected(response, 400, "missing_field", message="Customer ID is required")


def test_get_with_a_padded_id_finds_the_customer(http, tenant):
    customer_id = create(http, tenant)["telemetronCustomerId"]
    assert ok(http.get(f"{GET}/%20{customer_id}%20", headers=tenant.headers))["id"] == customer_id


def test_updated_at_moves_on_update_and_shows_in_the_record(http, tenant):
    customer_id = create(http, tenant, email="time@example.com")["telemetronCustomerId"]
    before = ok(http.get(f"{GET}/{customer_id}", headers=tenant.headers))
    ok(post(http, CREATE, tenant, {"telemetronCustomerId": customer_id, "email": "time@example.com", "name": "T"}))
    after = ok(http.get(f"{GET}/{customer_id}", headers=tenant.headers))
    assert after["createdAt"] == before["createdAt"]
    assert datetime.fromisoformat(after["updatedAt"]) >= datetime.fromisoformat(before["updatedAt"])
    assert after["name"] == "T"


# --- concurrency ----------------------------------------------------------------------------------


def _fire(base_url: str, calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    def send(call):
        path, headers, body = call
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.post(path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def test_concurrent_creates_of_one_email_make_one_customer_and_409s(live_server, db, tenant):
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    variants = [email, email.upper(), f" {email} "]
    responses = _fire(live_server.url, [(CREATE, tenant.headers, {"email": variants[i % 3]}) for i in range(20)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19, [r.text for r in responses]
    winner = next(r.json()["telemetronCustomerId"] for r in responses if r.status_code == 200)
    assert {r.json()["telemetronCustomerId"] for r in responses} == {winner}
    assert customers_of(db, tenant) == 1


def test_concurrent_updates_to_one_email_let_one_win(live_server, db, tenant, http):
    ids = [create(http, tenant)["telemetronCustomerId"] for _ in range(6)]
    target = f"wanted-{uuid.uuid4().hex[:8]}@example.com"
    calls = [(CREATE, tenant.headers, {"telemetronCustomerId": i, "email": target}) for i in ids]
    responses = _fire(live_server.url, calls)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 5, [r.text for r in responses]
    assert count(db, "select count(*) from customers where organization_id = :o and email = :e", o=tenant.id, e=target) == 1


# --- OpenAPI --------------------------------------------------------------------------------------


def test_openapi_documents_the_customer_endpoints(http):
    schema = http.get("/openapi.json").json()
    create_op = schema["paths"][CREATE]["post"]
    assert set(create_op["responses"]) == {"200", "400", "401", "404", "409", "413", "429", "500"}
    assert create_op["requestBody"]["content"]["application/json"]["examples"]
    query_op = schema["paths"][QUERY]["post"]
    assert set(query_op["responses"]) == {"200", "400", "401", "404", "413", "429", "500"}
    get_op = schema["paths"][f"{GET}/{{telemetronCustomerId}}"]["get"]
    assert set(get_op["responses"]) == {"200", "400", "401", "404", "429", "500"}
    assert get_op["parameters"][0]["name"] == "telemetronCustomerId"
    components = schema["components"]["schemas"]
    assert components["CreateOrUpdateCustomerRequest"]["required"] == ["email"]
    for name in ("CustomerRecord", "CustomerDevice", "CreateOrUpdateCustomerResponse", "QueryCustomerRequest"):
        assert name in components
    text_of_schema = json.dumps(schema)
    for ref in re.findall(r'"#/components/schemas/([A-Za-z0-9_]+)"', text_of_schema):
        assert ref in components, ref


def test_idempotency_key_on_create_calls(http, db, tenant):
    """A retried create with the same Idempotency-Key returns the first answer and creates nothing more."""
    headers = {**tenant.headers, "Idempotency-Key": "cust-retry-1"}
    body = {"email": "retry@example.com", "name": "Retry"}
    first = http.post("/api/ext-v1/customer/createOrUpdateCustomer", headers=headers, json=body)
    again = http.post("/api/ext-v1/customer/createOrUpdateCustomer", headers=headers, json=body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = http.post("/api/ext-v1/customer/createOrUpdateCustomer", headers=headers, json={"email": "else@example.com"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    device = {**tenant.headers, "Idempotency-Key": "dev-retry-1"}
    one = http.post("/api/ext-v1/device", headers=device, json={"identifier": "SN-1", "type": "hub"})
    two = http.post("/api/ext-v1/device", headers=device, json={"identifier": "SN-1", "type": "hub"})
    assert one.json() == two.json() and two.headers.get("Idempotent-Replayed") == "true"
