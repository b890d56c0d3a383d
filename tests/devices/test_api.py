"""Device endpoints (tests/spec/telemetron-ext-v1.md, "Devices"): POST /device and /device/bulk-metadata.

Each case checks what a client sees and what is stored. ``tenant`` is organization A,
``other_tenant`` B.
"""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from tests.support.databases import count
from tests.support.http import ok, post, rejected

BASE = "/api/ext-v1"
DEVICE = f"{BASE}/device"
BULK = f"{BASE}/device/bulk-metadata"
DEVICE_ID = re.compile(r"^dev_[0-9a-f]{12}$")
TOO_MANY = "Too many devices. Maximum 1000 per request"


# --- helpers -----------------------------------------------------------------------------------


def device_row(db, tenant, identifier: str) -> dict | None:
    with db.engine.connect() as conn:
        found = conn.execute(
            text(
                "select d.id, d.organization_id, d.identifier, d.type, d.properties, d.metadata, d.category_id,"
                " g.name as category from devices d left join categories g on g.id = d.category_id"
                " where d.organization_id = :o and d.identifier = :i"
            ),
            {"o": tenant.id, "i": identifier},
        ).mappings().first()
    if found is None:
        return None
    out = dict(found)
    for key in ("properties", "metadata"):  # SQLite hands JSON back as text to raw SQL
        if isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out


def devices_of(db, tenant) -> int:
    return count(db, "select count(*) from devices where organization_id = :o", o=tenant.id)


def make(http, tenant, identifier: str, device_type: str = "sensor", **fields) -> dict:
    return ok(post(http, DEVICE, tenant, {"identifier": identifier, "type": device_type, **fields}))


# --- POST /device: create ------------------------------------------------------------------------


def test_create_returns_the_device_and_stores_it(http, db, tenant):
    body = {"identifier": " sensor-001 ", "type": "sensor", "properties": {"location": "Building A", "firmware": "v2.1.0"}}
    answer = ok(post(http, DEVICE, tenant, body))
    assert answer["message"] == "Device created successfully"
    assert DEVICE_ID.match(answer["deviceId"])
    assert answer["identifier"] == "sensor-001"
    assert answer["type"] == "sensor"
    assert answer["category"] is None
    assert answer["deviceWasCreated"] is True
    stored = device_row(db, tenant, "sensor-001")
    assert stored["id"] == answer["deviceId"]
    assert stored["type"] == "sensor"
    assert stored["properties"] == {"location": "Building A", "firmware": "v2.1.0"}
    assert stored["metadata"] == {}
    assert devices_of(db, tenant) == 1


def test_create_without_properties_stores_an_empty_object(http, db, tenant):
    make(http, tenant, "bare")
    assert device_row(db, tenant, "bare")["properties"] == {}


@pytest.mark.parametrize("body", [{"identifier": "new-1"}, {"identifier": "new-1", "type": "  "}, {"identifier": "new-1", "type": None}])
def test_create_without_type_is_400(http, db, tenant, body):
    rejected(post(http, DEVICE, tenant, body), 400, "missing_field", field="type", words=["type", "required"])
    assert devices_of(db, tenant) == 0


def test_the_same_identifier_in_two_organizations_makes_two_devices(http, db, tenant, other_tenant):
    mine = make(http, tenant, "shared-id", "sensor")
    theirs = make(http, other_tenant, "shared-id", "gateway")
    assert theirs["deviceWasCreated"] is True
    assert mine["deviceId"] != theirs["deviceId"]
    assert device_row(db, tenant, "shared-id")["type"] == "sensor"
    assert device_row(db, other_tenant, "shared-id")["type"] == "gateway"


def test_properties_may_hold_any_json(http, db, tenant):
    properties = {"nested": {"list": [1, 2.5, None, True, "x"]}, "unicode": "é✓", "": "empty key"}
    make(http, tenant, "json-dev", properties=properties)
    assert device_row(db, tenant, "json-dev")["properties"] == properties


def test_a_nul_character_inside_properties_is_400_on_every_database(http, db, tenant):
    body = {"identifier": "nul-dev", "type": "t", "properties": {"a": ["ok", "b\u0000"]}}
    rejected(post(http, DEVICE, tenant, body), 400, "invalid_character", field="properties.a[1]")
    assert devices_of(db, tenant) == 0


# --- POST /device: update ------------------------------------------------------------------------


def test_update_by_identifier_changes_the_given_fields(http, db, tenant):
    created = make(http, tenant, "upd-1", "sensor", properties={"a": 1, "b": 2})
    answer = ok(post(http, DEVICE, tenant, {"identifier": "  upd-1", "type": "gateway", "properties": {"c": 3}}))
    assert answer["message"] == "Device updated successfully"
    assert answer["deviceWasCreated"] is False
    assert (answer["deviceId"], answer["identifier"], answer["type"]) == (created["deviceId"], "upd-1", "gateway")
    stored = device_row(db, tenant, "upd-1")
    assert stored["type"] == "gateway"
    assert stored["properties"] == {"c": 3}  # replaced, not merged
    assert devices_of(db, tenant) == 1


def test_update_without_type_or_properties_keeps_them(http, db, tenant):
    make(http, tenant, "keep-1", "sensor", properties={"a": 1})
    answer = ok(post(http, DEVICE, tenant, {"identifier": "keep-1"}))
    assert answer["type"] == "sensor"
    stored = device_row(db, tenant, "keep-1")
    assert (stored["type"], stored["properties"]) == ("sensor", {"a": 1})


def test_update_with_empty_properties_clears_them(http, db, tenant):
    make(http, tenant, "clr-1", properties={"a": 1})
    ok(post(http, DEVICE, tenant, {"identifier": "clr-1", "properties": {}}))
    assert device_row(db, tenant, "clr-1")["properties"] == {}


def test_update_leaves_metadata_alone(http, db, tenant):
    make(http, tenant, "meta-1")
    ok(post(http, BULK, tenant, {"devices": {"meta-1": {"fw": "1"}}}))
    ok(post(http, DEVICE, tenant, {"identifier": "meta-1", "properties": {"p": 1}}))
    assert device_row(db, tenant, "meta-1")["metadata"] == {"fw": "1"}


# --- categories -----------------------------------------------------------------------------------


def test_device_category_is_matched_kept_and_cleared(http, db, tenant):
    answer = make(http, tenant, "cat-1", category=" battery ")
    assert answer["category"] == "Battery"
    assert device_row(db, tenant, "cat-1")["category"] == "Battery"
    assert ok(post(http, DEVICE, tenant, {"identifier": "cat-1"}))["category"] == "Battery"
    assert ok(post(http, DEVICE, tenant, {"identifier": "cat-1", "category": "CONNECTIVITY"}))["category"] == "Connectivity"
    assert ok(post(http, DEVICE, tenant, {"identifier": "cat-1", "category": ""}))["category"] is None
    assert device_row(db, tenant, "cat-1")["category_id"] is None


def test_unknown_inactive_or_foreign_category_is_400(http, db, tenant, other_tenant):
    db.run_sync(lambda conn: add_category(Scoped(db, conn, tenant.id), name="Retired", active=False))
    db.run_sync(lambda conn: add_category(Scoped(db, conn, other_tenant.id), name="Foreign"))
    for name in ("Shipping", "Retired", "Foreign"):
        body = {"identifier": "cat-x", "type": "sensor", "category": name}
        rejected(post(http, DEVICE, tenant, body), 400, "unknown_category", field="category", words=[name])
    assert devices_of(db, tenant) == 0


# --- POST /device: invalid requests --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"type": "sensor"}, "missing_field", "identifier"),
        ({"identifier": None, "type": "sensor"}, "missing_field", "identifier"),
        ({"identifier": "", "type": "sensor"}, "empty_field", "identifier"),
        ({"identifier": "   ", "type": "sensor"}, "empty_field", "identifier"),
        ({"identifier": 12345, "type": "sensor"}, "invalid_type", "identifier"),
        ({"identifier": "x" * 256, "type": "sensor"}, "field_too_long", "identifier"),
        ({"identifier": "a\u0000b", "type": "sensor"}, "invalid_character", "identifier"),
        ({"identifier": "d", "type": 3}, "invalid_type", "type"),
        ({"identifier": "d", "type": "t" * 256}, "field_too_long", "type"),
        ({"identifier": "d", "type": "sensor", "properties": [1, 2]}, "invalid_type", "properties"),
        ({"identifier": "d", "type": "sensor", "properties": "{}"}, "invalid_type", "properties"),
        ({"identifier": "d", "type": "sensor", "category": 1}, "invalid_type", "category"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(http, db, tenant, body, code, field):
    rejected(post(http, DEVICE, tenant, body), 400, code, field=field)
    assert devices_of(db, tenant) == 0


def test_deeply_nested_properties_are_400_not_500(http, db, tenant):
    deep: dict = {}
    node = deep
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    rejected(post(http, DEVICE, tenant, {"identifier": "deep", "type": "t", "properties": deep}), 400, "too_deep", field="properties")
    assert devices_of(db, tenant) == 0


@pytest.mark.parametrize(("content", "code"), [(b"{", "invalid_json"), (b"", "invalid_json"), (b"[]", "invalid_body")])
def test_a_body_that_is_not_a_json_object_is_400(http, tenant, content, code):
    rejected(post(http, DEVICE, tenant, content=content), 400, code)


def test_unknown_fields_are_ignored(http, db, tenant):
    make(http, tenant, "extra", serial="123", owner="x")
    assert devices_of(db, tenant) == 1


# --- bulk-metadata -------------------------------------------------------------------------------


def test_bulk_metadata_replaces_metadata_in_request_order(http, db, tenant):
    a = make(http, tenant, "bulk-a")["deviceId"]
    b = make(http, tenant, "bulk-b")["deviceId"]
    ok(post(http, BULK, tenant, {"devices": {"bulk-a": {"old": True, "keep": 1}}}))
    body = {"devices": {"bulk-b": {"fw": "2.0"}, "missing-1": {"x": 1}, " bulk-a ": {"fw": "1.0"}}}
    answer = ok(post(http, BULK, tenant, body))
    assert answer["updated"] == 2
    assert answer["notFound"] == 1
    assert answer["results"] == [
        {"identifier": "bulk-b", "deviceId": b, "status": "updated"},
        {"identifier": "missing-1", "deviceId": "", "status": "not_found"},
        {"identifier": "bulk-a", "deviceId": a, "status": "updated"},
    ]
    assert device_row(db, tenant, "bulk-a")["metadata"] == {"fw": "1.0"}  # replaced, not merged
    assert device_row(db, tenant, "bulk-b")["metadata"] == {"fw": "2.0"}
    assert device_row(db, tenant, "bulk-a")["properties"] == {}  # properties untouched
    assert devices_of(db, tenant) == 2  # nothing created


def test_bulk_metadata_never_creates_devices(http, db, tenant):
    answer = ok(post(http, BULK, tenant, {"devices": {"ghost-1": {}, "ghost-2": {"a": 1}}}))
    assert (answer["updated"], answer["notFound"]) == (0, 2)
    assert [r["status"] for r in answer["results"]] == ["not_found", "not_found"]
    assert devices_of(db, tenant) == 0


def test_bulk_metadata_with_an_empty_object_clears_metadata(http, db, tenant):
    make(http, tenant, "clear-me")
    ok(post(http, BULK, tenant, {"devices": {"clear-me": {"a": 1}}}))
    ok(post(http, BULK, tenant, {"devices": {"clear-me": {}}}))
    assert device_row(db, tenant, "clear-me")["metadata"] == {}


def test_bulk_metadata_does_not_touch_another_organizations_devices(http, db, tenant, other_tenant):
    make(http, other_tenant, "theirs-1")
    ok(post(http, BULK, other_tenant, {"devices": {"theirs-1": {"owner": "B"}}}))
    answer = ok(post(http, BULK, tenant, {"devices": {"theirs-1": {"owner": "A"}}}))
    assert answer["results"] == [{"identifier": "theirs-1", "deviceId": "", "status": "not_found"}]
    assert device_row(db, other_tenant, "theirs-1")["metadata"] == {"owner": "B"}
    assert devices_of(db, tenant) == 0


def test_bulk_metadata_takes_1000_devices(http, db, tenant):
    make(http, tenant, "dev-0007")
    devices = {f"dev-{i:04}": {"i": i} for i in range(1000)}
    answer = ok(post(http, BULK, tenant, {"devices": devices}))
    assert (answer["updated"], answer["notFound"]) == (1, 999)
    assert len(answer["results"]) == 1000
    assert [r["identifier"] for r in answer["results"]] == list(devices)
    assert device_row(db, tenant, "dev-0007")["metadata"] == {"i": 7}


def test_bulk_metadata_with_1001_devices_is_400(http, db, tenant):
    make(http, tenant, "dev-0001")
    devices = {f"dev-{i:04}": {"i": i} for i in range(1001)}
    rejected(post(http, BULK, tenant, {"devices": devices}), 400, "too_many_devices", field="devices", message=TOO_MANY)
    assert device_row(db, tenant, "dev-0001")["metadata"] == {}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_field", "devices"),
        ({"devices": None}, "missing_field", "devices"),
        ({"devices": []}, "invalid_type", "devices"),
        ({"devices": "sensor-1"}, "invalid_type", "devices"),
        ({"devices": {}}, "empty_field", "devices"),
        ({"devices": {"s-1": "fw=2"}}, "invalid_type", "devices.s-1"),
        ({"devices": {"s-1": [1]}}, "invalid_type", "devices.s-1"),
        ({"devices": {"s-1": {}, " s-1 ": {}}}, "duplicate_identifier", "devices"),
        ({"devices": {"  ": {}}}, "empty_field", "devices"),
        ({"devices": {"a\u0000": {}}}, "invalid_character", "devices"),
    ],
)
def test_bulk_metadata_invalid_payloads_are_400(http, db, tenant, body, code, field):
    make(http, tenant, "s-1")
    response = post(http, BULK, tenant, body)
    error = rejected(response, 400, code, field=field)
    assert error["error"].startswith("Invalid JSON payload"), error
    assert device_row(db, tenant, "s-1")["metadata"] == {}


@pytest.mark.parametrize("content", [b"{", b"", b"[]", b"null"])
def test_bulk_metadata_unparseable_body_is_400_invalid_json_payload(http, tenant, content):
    error = rejected(post(http, BULK, tenant, content=content), 400, "invalid_json" if content in (b"{", b"") else "invalid_body")
    assert error["error"].startswith("Invalid JSON payload")


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [(DEVICE, {"identifier": "auth-1", "type": "sensor"}), (BULK, {"devices": {"auth-1": {}}})],
)
def test_no_key_or_a_wrong_key_is_401_whatever_the_body(http, db, path, body):
    before = count(db, "select count(*) from devices")
    rejected(http.post(path, json=body), 401, "missing_api_key")
    rejected(http.post(path, json=body, headers={"x-api-key": "tlm_wrong"}), 401, "invalid_api_key")
    rejected(http.post(path, content=b"[", headers={"x-api-key": "tlm_wrong"}), 401, "invalid_api_key")
    rejected(http.post(path, json={"devices": {str(i): {} for i in range(1001)}}, headers={"x-api-key": "tlm_wrong"}), 401, "invalid_api_key")
    assert count(db, "select count(*) from devices") == before


def test_the_key_can_be_sent_as_a_bearer_token(http, db, tenant):
    response = http.post(DEVICE, json={"identifier": "b-1", "type": "t"}, headers={"Authorization": f"Bearer {tenant.api_key}"})
    ok(response)
    assert device_row(db, tenant, "b-1") is not None


# --- concurrency ----------------------------------------------------------------------------------


def _fire(base_url: str, calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    def send(call):
        path, headers, body = call
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.post(path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def test_concurrent_creates_of_one_identifier_make_one_device(live_server, db, tenant):
    identifier = f"race-{uuid.uuid4().hex[:8]}"
    calls = [(DEVICE, tenant.headers, {"identifier": identifier, "type": "sensor", "properties": {"n": i}}) for i in range(20)]
    responses = _fire(live_server.url, calls)
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    assert len({r.json()["deviceId"] for r in responses}) == 1
    assert sum(r.json()["deviceWasCreated"] for r in responses) == 1
    assert devices_of(db, tenant) == 1


def test_concurrent_bulk_updates_of_overlapping_devices_do_not_fail(live_server, db, tenant, http):
    names = [f"ov-{i}" for i in range(30)]
    for name in names:
        make(http, tenant, name)
    calls = []
    for n in range(12):
        order = names if n % 2 else list(reversed(names))
        calls.append((BULK, tenant.headers, {"devices": {name: {"writer": n} for name in order}}))
    responses = _fire(live_server.url, calls)
    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses]
    writers = {device_row(db, tenant, name)["metadata"]["writer"] for name in names}
    assert len(writers) == 1  # each request's update is all-or-nothing; the last one wins everywhere


# --- OpenAPI --------------------------------------------------------------------------------------


def test_openapi_documents_the_device_endpoints(http):
    schema = http.get("/openapi.json").json()
    device_op = schema["paths"][DEVICE]["post"]
    assert set(device_op["responses"]) == {"200", "400", "401", "413", "429", "500"}
    examples = device_op["responses"]["400"]["content"]["application/json"]["examples"]
    fields = {e["value"]["field"] for e in examples.values() if "field" in e["value"]}
    assert fields >= {"identifier", "properties", "type", "category"}
    bulk_op = schema["paths"][BULK]["post"]
    bulk_errors = [e["value"]["error"] for e in bulk_op["responses"]["400"]["content"]["application/json"]["examples"].values()]
    assert TOO_MANY in bulk_errors
    components = schema["components"]["schemas"]
    assert components["DeviceRequest"]["required"] == ["identifier"]
    assert components["BulkMetadataRequest"]["properties"]["devices"]["maxProperties"] == 1000
