"""Device assignment (tests/spec/telemetron-ext-v1.md, "Device assignment"): assignDeviceToOwners,
assignDevicesToOwner, unassignDeviceFromOwner, unassignDevicesFromOwner.

Each case checks what a client sees and what is stored (``device_owners`` rows, customers and
devices created or not). ``tenant`` is organization A, ``other_tenant`` B.
"""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from tests.support.databases import count
from tests.support.http import ok, post, rejected

BASE = "/api/ext-v1"
DEVICE = f"{BASE}/device"
TO_OWNERS = f"{BASE}/deviceAssignment/assignDeviceToOwners"
TO_OWNER = f"{BASE}/deviceAssignment/assignDevicesToOwner"
UNASSIGN_ONE = f"{BASE}/deviceAssignment/unassignDeviceFromOwner"
UNASSIGN_MANY = f"{BASE}/deviceAssignment/unassignDevicesFromOwner"
QUERY = f"{BASE}/customer/queryCustomer"
CUSTOMER_ID = re.compile(r"^cust_[0-9a-f]{12}$")
DEVICE_ID = re.compile(r"^dev_[0-9a-f]{12}$")


# --- helpers -----------------------------------------------------------------------------------


def make_device(http, tenant, identifier: str, device_type: str = "Thermostat") -> str:
    return ok(post(http, DEVICE, tenant, {"identifier": identifier, "type": device_type}))["deviceId"]


def make_customer(http, tenant, email: str) -> str:
    body = ok(post(http, f"{BASE}/customer/createOrUpdateCustomer", tenant, {"email": email}))
    return body["telemetronCustomerId"]


def owners(db, tenant) -> set[tuple[str, str]]:
    """(device identifier, customer email) pairs assigned in the organization."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "select d.identifier, c.email from device_owners o"
                " join devices d on d.id = o.device_id join customers c on c.id = o.customer_id"
                " where o.organization_id = :o"
            ),
            {"o": tenant.id},
        ).all()
    return {(r[0], r[1]) for r in rows}


def stored(db, tenant) -> dict[str, int]:
    return {
        table: count(db, f"select count(*) from {table} where organization_id = :o", o=tenant.id)
        for table in ("customers", "devices", "device_owners")
    }


def device_type(db, tenant, identifier: str) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(
            text("select type from devices where organization_id = :o and identifier = :i"),
            {"o": tenant.id, "i": identifier},
        ).scalar()


# --- assignDeviceToOwners -------------------------------------------------------------------------


def test_assign_device_to_owners_creates_unknown_customers(http, db, tenant):
    device_id = make_device(http, tenant, "SN-1")
    known = make_customer(http, tenant, "known@example.com")
    body = {"deviceIdentifier": " SN-1 ", "customerEmails": ["known@example.com", "  New.Person@Example.COM "]}
    answer = ok(post(http, TO_OWNERS, tenant, body))
    assert answer["deviceId"] == device_id
    assert answer["deviceIdentifier"] == "SN-1"
    assert answer["deviceWasCreated"] is False
    assert answer["skippedEmails"] == []
    first, second = answer["assignedCustomers"]
    assert first == {"email": "known@example.com", "customerId": known, "wasCreated": False, "alreadyAssigned": False}
    assert second["email"] == "new.person@example.com"
    assert CUSTOMER_ID.match(second["customerId"])
    assert (second["wasCreated"], second["alreadyAssigned"]) == (True, False)
    assert set(answer) == {
        "success", "message", "deviceId", "deviceIdentifier", "deviceWasCreated", "assignedCustomers", "skippedEmails",
    }
    assert owners(db, tenant) == {("SN-1", "known@example.com"), ("SN-1", "new.person@example.com")}
    assert stored(db, tenant) == {"customers": 2, "devices": 1, "device_owners": 2}


def test_assign_device_to_owners_is_idempotent(http, db, tenant):
    make_device(http, tenant, "SN-2")
    body = {"deviceIdentifier": "SN-2", "customerEmails": ["a@example.com", "b@example.com"]}
    ok(post(http, TO_OWNERS, tenant, body))
    again = ok(post(http, TO_OWNERS, tenant, {**body, "customerEmails": ["B@example.com", "a@example.com", "c@example.com"]}))
    assert [(c["email"], c["wasCreated"], c["alreadyAssigned"]) for c in again["assignedCustomers"]] == [
        ("b@example.com", False, True),
        ("a@example.com", False, True),
        ("c@example.com", True, False),
    ]
    assert stored(db, tenant) == {"customers": 3, "devices": 1, "device_owners": 3}


def test_duplicate_emails_are_folded_and_invalid_ones_skipped(http, db, tenant):
    make_device(http, tenant, "SN-3")
    emails = ["dup@example.com", "not-an-email", " DUP@example.com", "", "x@y@z", "ok@example.com"]
    answer = ok(post(http, TO_OWNERS, tenant, {"deviceIdentifier": "SN-3", "customerEmails": emails}))
    assert [c["email"] for c in answer["assignedCustomers"]] == ["dup@example.com", "ok@example.com"]
    assert answer["skippedEmails"] == ["not-an-email", "", "x@y@z"]
    assert stored(db, tenant)["customers"] == 2
    assert owners(db, tenant) == {("SN-3", "dup@example.com"), ("SN-3", "ok@example.com")}


def test_no_valid_email_at_all_is_400_and_creates_nothing(http, db, tenant):
    body = {"deviceIdentifier": "SN-NEW", "customerEmails": ["nope", "also nope"], "autoCreateDevice": True, "deviceType": "T"}
    error = rejected(post(http, TO_OWNERS, tenant, body), 400, "no_valid_emails", field="customerEmails")
    assert error["skippedEmails"] == ["nope", "also nope"]
    assert stored(db, tenant) == {"customers": 0, "devices": 0, "device_owners": 0}


def test_unknown_device_without_auto_create_is_404_and_creates_nothing(http, db, tenant):
    body = {"deviceIdentifier": "SN-404", "customerEmails": ["someone@example.com"]}
    rejected(post(http, TO_OWNERS, tenant, body), 404, "device_not_found", field="deviceIdentifier", message="Device not found")
    rejected(post(http, TO_OWNERS, tenant, {**body, "autoCreateDevice": False}), 404, "device_not_found")
    assert stored(db, tenant) == {"customers": 0, "devices": 0, "device_owners": 0}


def test_auto_create_device_creates_it_with_the_type(http, db, tenant):
    body = {"deviceIdentifier": "SN-AUTO", "customerEmails": ["john@example.com"], "autoCreateDevice": True, "deviceType": "Thermostat"}
    answer = ok(post(http, TO_OWNERS, tenant, body))
    assert answer["deviceWasCreated"] is True
    assert DEVICE_ID.match(answer["deviceId"])
    assert device_type(db, tenant, "SN-AUTO") == "Thermostat"
    assert owners(db, tenant) == {("SN-AUTO", "john@example.com")}
    again = ok(post(http, TO_OWNERS, tenant, {**body, "deviceType": "Other"}))
    assert (again["deviceWasCreated"], again["deviceId"]) == (False, answer["deviceId"])
    assert device_type(db, tenant, "SN-AUTO") == "Thermostat"  # an existing device keeps its type
    assert stored(db, tenant) == {"customers": 1, "devices": 1, "device_owners": 1}


@pytest.mark.parametrize("device_type", [None, "", "   "])
def test_auto_create_without_device_type_is_400(http, db, tenant, device_type):
    body = {"deviceIdentifier": "SN-X", "customerEmails": ["a@example.com"], "autoCreateDevice": True, "deviceType": device_type}
    rejected(post(http, TO_OWNERS, tenant, body), 400, "missing_field", field="deviceType", words=["deviceType", "autoCreateDevice"])
    assert stored(db, tenant) == {"customers": 0, "devices": 0, "device_owners": 0}


def test_auto_create_without_device_type_is_400_even_if_the_device_exists(http, db, tenant):
    make_device(http, tenant, "SN-EXISTS")
    body = {"deviceIdentifier": "SN-EXISTS", "customerEmails": ["a@example.com"], "autoCreateDevice": True}
    rejected(post(http, TO_OWNERS, tenant, body), 400, "missing_field", field="deviceType")


def test_another_organizations_device_is_404_and_auto_create_makes_our_own(http, db, tenant, other_tenant):
    theirs = make_device(http, other_tenant, "SN-SHARED")
    body = {"deviceIdentifier": "SN-SHARED", "customerEmails": ["a@example.com"]}
    rejected(post(http, TO_OWNERS, tenant, body), 404, "device_not_found")
    answer = ok(post(http, TO_OWNERS, tenant, {**body, "autoCreateDevice": True, "deviceType": "T"}))
    assert answer["deviceWasCreated"] is True and answer["deviceId"] != theirs
    assert stored(db, other_tenant) == {"customers": 0, "devices": 1, "device_owners": 0}


def test_customers_of_another_organization_are_not_used(http, db, tenant, other_tenant):
    theirs = make_customer(http, other_tenant, "person@example.com")
    make_device(http, tenant, "SN-4")
    answer = ok(post(http, TO_OWNERS, tenant, {"deviceIdentifier": "SN-4", "customerEmails": ["person@example.com"]}))
    (assigned,) = answer["assignedCustomers"]
    assert assigned["wasCreated"] is True and assigned["customerId"] != theirs
    assert stored(db, other_tenant)["device_owners"] == 0


def test_the_assignment_shows_in_the_customer_record(http, tenant):
    device_id = make_device(http, tenant, "SN-5", "Sensor")
    ok(post(http, TO_OWNERS, tenant, {"deviceIdentifier": "SN-5", "customerEmails": ["rec@example.com"]}))
    record = ok(post(http, QUERY, tenant, {"email": "rec@example.com"}))
    assert record["devices"] == [{"deviceId": device_id, "identifier": "SN-5", "type": "Sensor"}]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"customerEmails": ["a@example.com"]}, "missing_field", "deviceIdentifier"),
        ({"deviceIdentifier": "  ", "customerEmails": ["a@example.com"]}, "empty_field", "deviceIdentifier"),
        ({"deviceIdentifier": 1, "customerEmails": ["a@example.com"]}, "invalid_type", "deviceIdentifier"),
        ({"deviceIdentifier": "d"}, "missing_field", "customerEmails"),
        ({"deviceIdentifier": "d", "customerEmails": []}, "empty_field", "customerEmails"),
        ({"deviceIdentifier": "d", "customerEmails": "a@example.com"}, "invalid_type", "customerEmails"),
        ({"deviceIdentifier": "d", "customerEmails": ["a@example.com", 5]}, "invalid_type", "customerEmails[1]"),
        ({"deviceIdentifier": "d", "customerEmails": ["a@example.com"], "autoCreateDevice": "true"}, "invalid_type", "autoCreateDevice"),
        ({"deviceIdentifier": "d", "customerEmails": ["a@example.com"], "autoCreateDevice": 1}, "invalid_type", "autoCreateDevice"),
        ({"deviceIdentifier": "d", "customerEmails": ["a@example.com"], "deviceType": 5}, "invalid_type", "deviceType"),
        ({"deviceIdentifier": "d" * 256, "customerEmails": ["a@example.com"]}, "field_too_long", "deviceIdentifier"),
    ],
)
def test_assign_device_to_owners_invalid_requests_are_400(http, db, tenant, body, code, field):
    rejected(post(http, TO_OWNERS, tenant, body), 400, code, field=field)
    assert stored(db, tenant) == {"customers": 0, "devices": 0, "device_owners": 0}


def test_more_than_1000_emails_is_400(http, tenant):
    emails = [f"u{i}@example.com" for i in range(1001)]
    rejected(post(http, TO_OWNERS, tenant, {"deviceIdentifier": "d", "customerEmails": emails}), 400, "too_many_emails", field="customerEmails")


# --- assignDevicesToOwner -------------------------------------------------------------------------


def test_assign_devices_to_owner_reports_assigned_already_assigned_and_skipped(http, db, tenant):
    make_device(http, tenant, "D-1")
    make_device(http, tenant, "D-2")
    make_device(http, tenant, "D-3")
    first = ok(post(http, TO_OWNER, tenant, {"customerEmail": " Owner@Example.com ", "deviceIdentifiers": ["D-2"]}))
    assert first["customerWasCreated"] is True
    assert CUSTOMER_ID.match(first["customerId"])
    body = {"customerEmail": "owner@example.com", "deviceIdentifiers": ["D-3", "missing", " D-2 ", "D-1", "D-3"]}
    answer = ok(post(http, TO_OWNER, tenant, body))
    assert answer["customerId"] == first["customerId"]
    assert answer["customerWasCreated"] is False
    assert answer["assignedDevices"] == ["D-3", "D-1"]
    assert answer["alreadyAssigned"] == ["D-2"]
    assert answer["skipped"] == ["missing"]
    assert answer["createdDevices"] == []
    assert owners(db, tenant) == {("D-1", "owner@example.com"), ("D-2", "owner@example.com"), ("D-3", "owner@example.com")}
    assert stored(db, tenant) == {"customers": 1, "devices": 3, "device_owners": 3}


def test_assign_devices_to_owner_auto_creates_devices(http, db, tenant):
    make_device(http, tenant, "E-1", "Sensor")
    body = {"customerEmail": "e@example.com", "deviceIdentifiers": ["E-2", "E-1", "E-3"], "autoCreateDevices": True, "deviceType": "Gateway"}
    answer = ok(post(http, TO_OWNER, tenant, body))
    assert answer["assignedDevices"] == ["E-2", "E-1", "E-3"]
    assert answer["createdDevices"] == ["E-2", "E-3"]
    assert answer["skipped"] == []
    assert [device_type(db, tenant, i) for i in ("E-1", "E-2", "E-3")] == ["Sensor", "Gateway", "Gateway"]
    again = ok(post(http, TO_OWNER, tenant, body))
    assert (again["assignedDevices"], again["alreadyAssigned"], again["createdDevices"]) == ([], ["E-2", "E-1", "E-3"], [])
    assert stored(db, tenant) == {"customers": 1, "devices": 3, "device_owners": 3}


def test_assign_devices_to_owner_creates_the_customer_even_if_every_device_is_skipped(http, db, tenant):
    answer = ok(post(http, TO_OWNER, tenant, {"customerEmail": "lonely@example.com", "deviceIdentifiers": ["nope"]}))
    assert (answer["customerWasCreated"], answer["skipped"], answer["assignedDevices"]) == (True, ["nope"], [])
    assert stored(db, tenant) == {"customers": 1, "devices": 0, "device_owners": 0}


def test_assign_devices_to_owner_skips_another_organizations_devices(http, db, tenant, other_tenant):
    make_device(http, other_tenant, "THEIRS")
    answer = ok(post(http, TO_OWNER, tenant, {"customerEmail": "a@example.com", "deviceIdentifiers": ["THEIRS"]}))
    assert answer["skipped"] == ["THEIRS"]
    assert stored(db, other_tenant) == {"customers": 0, "devices": 1, "device_owners": 0}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"deviceIdentifiers": ["d"]}, "missing_field", "customerEmail"),
        ({"customerEmail": "  ", "deviceIdentifiers": ["d"]}, "missing_field", "customerEmail"),
        ({"customerEmail": "bad", "deviceIdentifiers": ["d"]}, "invalid_email", "customerEmail"),
        ({"customerEmail": ["a@example.com"], "deviceIdentifiers": ["d"]}, "invalid_type", "customerEmail"),
        ({"customerEmail": "a@example.com"}, "missing_field", "deviceIdentifiers"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": []}, "empty_field", "deviceIdentifiers"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": ["d", " "]}, "empty_field", "deviceIdentifiers[1]"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": ["d", 7]}, "invalid_type", "deviceIdentifiers[1]"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": ["d"], "autoCreateDevices": True}, "missing_field", "deviceType"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": ["d"], "autoCreateDevices": "yes"}, "invalid_type", "autoCreateDevices"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": ["x" * 256]}, "field_too_long", "deviceIdentifiers[0]"),
    ],
)
def test_assign_devices_to_owner_invalid_requests_are_400(http, db, tenant, body, code, field):
    rejected(post(http, TO_OWNER, tenant, body), 400, code, field=field)
    assert stored(db, tenant) == {"customers": 0, "devices": 0, "device_owners": 0}


def test_assign_devices_to_owner_with_more_than_1000_devices_is_400(http, db, tenant):
    body = {"customerEmail": "a@example.com", "deviceIdentifiers": [f"d{i}" for i in range(1001)]}
    rejected(post(http, TO_OWNER, tenant, body), 400, "too_many_devices", message="Too many devices. Maximum 1000 per request")
    assert stored(db, tenant)["customers"] == 0


# --- unassignDeviceFromOwner ----------------------------------------------------------------------


def test_unassign_device_from_owner_removes_only_the_link(http, db, tenant):
    for identifier in ("U-1", "U-2"):
        make_device(http, tenant, identifier)
    ok(post(http, TO_OWNER, tenant, {"customerEmail": "u@example.com", "deviceIdentifiers": ["U-1", "U-2"]}))
    ok(post(http, TO_OWNERS, tenant, {"deviceIdentifier": "U-1", "customerEmails": ["other@example.com"]}))
    answer = ok(post(http, UNASSIGN_ONE, tenant, {"deviceIdentifier": " U-1 ", "customerEmail": "U@example.com"}))
    customer_id = ok(post(http, QUERY, tenant, {"email": "u@example.com"}))["id"]
    assert answer == {
        "success": True,
        "message": "Device unassigned successfully",
        "customerId": customer_id,
        "deviceIdentifier": "U-1",
        "devicesRemaining": ["U-2"],
    }
    assert owners(db, tenant) == {("U-2", "u@example.com"), ("U-1", "other@example.com")}
    assert stored(db, tenant)["devices"] == 2 and stored(db, tenant)["customers"] == 2


def test_unassign_a_device_that_is_not_assigned_lists_the_current_devices(http, db, tenant):
    for identifier in ("V-1", "V-2", "V-3"):
        make_device(http, tenant, identifier)
    ok(post(http, TO_OWNER, tenant, {"customerEmail": "v@example.com", "deviceIdentifiers": ["V-2", "V-1"]}))
    response = post(http, UNASSIGN_ONE, tenant, {"deviceIdentifier": "V-3", "customerEmail": "v@example.com"})
    error = rejected(response, 404, "device_not_assigned", message="Device is not assigned to this customer")
    assert error["customerId"] == ok(post(http, QUERY, tenant, {"email": "v@example.com"}))["id"]
    assert error["deviceIdentifier"] == "V-3"
    assert error["currentDevices"] == ["V-1", "V-2"]
    # Unassigning twice: the second time it is not assigned any more.
    ok(post(http, UNASSIGN_ONE, tenant, {"deviceIdentifier": "V-1", "customerEmail": "v@example.com"}))
    error = rejected(post(http, UNASSIGN_ONE, tenant, {"deviceIdentifier": "V-1", "customerEmail": "v@example.com"}), 404, "device_not_assigned")
    assert error["currentDevices"] == ["V-2"]


def test_unassign_for_an_unknown_customer_is_404_and_creates_nobody(http, db, tenant):
    make_device(http, tenant, "W-1")
    response = post(http, UNASSIGN_ONE, tenant, {"deviceIdentifier": "W-1", "customerEmail": "ghost@example.com"})
    rejected(response, 404, "customer_not_found", field="customerEmail", message="Customer not found")
    assert stored(db, tenant)["customers"] == 0


def test_unassign_an_unknown_device_is_404(http, db, tenant):
    make_customer(http, tenant, "w@example.com")
    response = post(http, UNASSIGN_ONE, tenant, {"deviceIdentifier": "W-404", "customerEmail": "w@example.com"})
    rejected(response, 404, "device_not_found", field="deviceIdentifier", message="Device not found")
    assert stored(db, tenant)["devices"] == 0


def test_unassign_with_another_organizations_customer_or_device_is_404(http, db, tenant, other_tenant):
    make_device(http, other_tenant, "THEIRS-1")
    ok(post(http, TO_OWNERS, other_tenant, {"deviceIdentifier": "THEIRS-1", "customerEmails": ["b@example.com"]}))
    body = {"deviceIdentifier": "THEIRS-1", "customerEmail": "b@example.com"}
    rejected(post(http, UNASSIGN_ONE, tenant, body), 404, "customer_not_found")
    make_customer(http, tenant, "b@example.com")
    rejected(post(http, UNASSIGN_ONE, tenant, body), 404, "device_not_found")
    assert owners(db, other_tenant) == {("THEIRS-1", "b@example.com")}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"customerEmail": "a@example.com"}, "missing_field", "deviceIdentifier"),
        ({"deviceIdentifier": "", "customerEmail": "a@example.com"}, "empty_field", "deviceIdentifier"),
        ({"deviceIdentifier": "d"}, "missing_field", "customerEmail"),
        ({"deviceIdentifier": "d", "customerEmail": "nope"}, "invalid_email", "customerEmail"),
        ({"deviceIdentifier": ["d"], "customerEmail": "a@example.com"}, "invalid_type", "deviceIdentifier"),
    ],
)
def test_unassign_device_invalid_requests_are_400(http, tenant, body, code, field):
    rejected(post(http, UNASSIGN_ONE, tenant, body), 400, code, field=field)


# --- unassignDevicesFromOwner ---------------------------------------------------------------------


def test_unassign_devices_from_owner_reports_unassigned_skipped_and_remaining(http, db, tenant, other_tenant):
    for identifier in ("M-1", "M-2", "M-3", "M-4"):
        make_device(http, tenant, identifier)
    make_device(http, other_tenant, "M-THEIRS")
    ok(post(http, TO_OWNER, tenant, {"customerEmail": "m@example.com", "deviceIdentifiers": ["M-1", "M-2", "M-3"]}))
    body = {"customerEmail": "M@example.com", "deviceIdentifiers": ["M-3", "M-4", "nope", "M-THEIRS", " M-1", "M-3"]}
    answer = ok(post(http, UNASSIGN_MANY, tenant, body))
    assert answer["customerId"] == ok(post(http, QUERY, tenant, {"email": "m@example.com"}))["id"]
    assert answer["unassignedDevices"] == ["M-3", "M-1"]
    assert answer["skipped"] == ["M-4", "nope", "M-THEIRS"]
    assert answer["devicesRemaining"] == ["M-2"]
    assert owners(db, tenant) == {("M-2", "m@example.com")}
    assert stored(db, tenant)["devices"] == 4
    again = ok(post(http, UNASSIGN_MANY, tenant, body))
    assert (again["unassignedDevices"], again["devicesRemaining"]) == ([], ["M-2"])


def test_unassign_devices_for_an_unknown_customer_is_404(http, db, tenant):
    response = post(http, UNASSIGN_MANY, tenant, {"customerEmail": "ghost@example.com", "deviceIdentifiers": ["a"]})
    rejected(response, 404, "customer_not_found", field="customerEmail", message="Customer not found")
    assert stored(db, tenant)["customers"] == 0


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"deviceIdentifiers": ["d"]}, "missing_field", "customerEmail"),
        ({"customerEmail": "a@example.com"}, "missing_field", "deviceIdentifiers"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": []}, "empty_field", "deviceIdentifiers"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": "d"}, "invalid_type", "deviceIdentifiers"),
        ({"customerEmail": "a@example.com", "deviceIdentifiers": [f"d{i}" for i in range(1001)]}, "too_many_devices", "deviceIdentifiers"),
    ],
)
def test_unassign_devices_invalid_requests_are_400(http, tenant, body, code, field):
    rejected(post(http, UNASSIGN_MANY, tenant, body), 400, code, field=field)


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (TO_OWNERS, {"deviceIdentifier": "d", "customerEmails": ["a@example.com"], "autoCreateDevice": True, "deviceType": "T"}),
        (TO_OWNER, {"customerEmail": "a@example.com", "deviceIdentifiers": ["d"], "autoCreateDevices": True, "deviceType": "T"}),
        (UNASSIGN_ONE, {"deviceIdentifier": "d", "customerEmail": "a@example.com"}),
        (UNASSIGN_MANY, {"customerEmail": "a@example.com", "deviceIdentifiers": ["d"]}),
    ],
)
def test_no_key_or_a_wrong_key_is_401_whatever_the_body(http, db, path, body):
    before = {t: count(db, f"select count(*) from {t}") for t in ("customers", "devices", "device_owners")}
    rejected(http.post(path, json=body), 401, "missing_api_key")
    rejected(http.post(path, json=body, headers={"x-api-key": "tlm_wrong"}), 401, "invalid_api_key")
    rejected(http.post(path, json={}, headers={"x-api-key": "tlm_wrong"}), 401, "invalid_api_key")
    assert {t: count(db, f"select count(*) from {t}") for t in before} == before


# --- concurrency ----------------------------------------------------------------------------------


def _fire(base_url: str, calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    def send(call):
        path, headers, body = call
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.post(path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def test_concurrent_assignments_of_new_devices_and_customers_make_each_once(live_server, db, tenant):
    """Both assign endpoints at once, creating the same devices and customers in different orders:
    no duplicates, no 500 (no deadlock), every link once."""
    tag = uuid.uuid4().hex[:6]
    emails = [f"{tag}-{i}@example.com" for i in range(4)]
    identifiers = [f"{tag}-D{i}" for i in range(4)]
    calls = []
    for n in range(24):
        if n % 2:
            body = {
                "deviceIdentifier": identifiers[n % 4],
                "customerEmails": emails if n % 4 == 1 else list(reversed(emails)),
                "autoCreateDevice": True,
                "deviceType": "T",
            }
            calls.append((TO_OWNERS, tenant.headers, body))
        else:
            body = {
                "customerEmail": emails[n % 4],
                "deviceIdentifiers": identifiers if n % 4 == 0 else list(reversed(identifiers)),
                "autoCreateDevices": True,
                "deviceType": "T",
            }
            calls.append((TO_OWNER, tenant.headers, body))
    responses = _fire(live_server.url, calls)
    assert [r.status_code for r in responses] == [200] * len(calls), [r.text for r in responses if r.status_code != 200]
    assert stored(db, tenant)["customers"] == 4
    assert stored(db, tenant)["devices"] == 4
    assert owners(db, tenant) >= {(identifiers[n % 4], email) for n in range(1, 24, 2) for email in emails}
    assert stored(db, tenant)["device_owners"] == len(owners(db, tenant))


# --- OpenAPI --------------------------------------------------------------------------------------


def test_openapi_documents_the_assignment_endpoints(http):
    schema = http.get("/openapi.json").json()
    expected = {
        TO_OWNERS: {"200", "400", "401", "404", "413", "429", "500"},
        TO_OWNER: {"200", "400", "401", "413", "429", "500"},
        UNASSIGN_ONE: {"200", "400", "401", "404", "413", "429", "500"},
        UNASSIGN_MANY: {"200", "400", "401", "404", "413", "429", "500"},
    }
    for path, statuses in expected.items():
        operation = schema["paths"][path]["post"]
        assert set(operation["responses"]) == statuses, path
        assert operation["requestBody"]["content"]["application/json"]["examples"], path
    not_assigned = schema["paths"][UNASSIGN_ONE]["post"]["responses"]["404"]["content"]["application/json"]["examples"]
    assert not_assigned["device_not_assigned"]["value"]["currentDevices"]
