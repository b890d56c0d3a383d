"""Every ext-v1 success body is what /openapi.json says it is: each field the document lists is
sent, no field it does not list is sent, and each value has the documented type.

The bodies are built by hand on the fast path (no model serialization), so this is what keeps the
document and the server from drifting apart.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.http import post

BASE = "/api/ext-v1"


@pytest.fixture(scope="module")
def document(live_server) -> dict[str, Any]:
    import httpx

    return httpx.get(f"{live_server.url}/openapi.json").json()


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def mismatch(schema: dict[str, Any], value: Any, document: dict[str, Any], path: str = "body") -> str | None:
    """Why ``value`` is not what ``schema`` documents, or None when it is."""
    schema = _resolve(schema, document)
    for choice in ("anyOf", "oneOf"):
        if choice in schema:
            problems = [mismatch(option, value, document, path) for option in schema[choice]]
            return None if None in problems else "; ".join(p for p in problems if p)
    if "const" in schema and value != schema["const"]:
        return f"{path}: {value!r} is not {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {value!r} is not one of {schema['enum']}"
    kind = schema.get("type")
    types = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "null": type(None),
             "array": list, "object": dict}
    if kind in types and (not isinstance(value, types[kind]) or (kind != "boolean" and isinstance(value, bool))):
        return f"{path}: {value!r} is not {kind}"
    if kind == "array" and "items" in schema:
        return next(filter(None, (mismatch(schema["items"], item, document, f"{path}[{i}]")
                                  for i, item in enumerate(value))), None)
    if kind == "object" and "properties" in schema:
        sent, listed = set(value), set(schema["properties"])
        if sent != listed:
            return f"{path}: undocumented {sorted(sent - listed)}, documented but not sent {sorted(listed - sent)}"
        return next(filter(None, (mismatch(schema["properties"][key], item, document, f"{path}.{key}")
                                  for key, item in value.items())), None)
    return None


def check(document, method: str, path: str, response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    operation = document["paths"][path][method]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    body = response.json()
    assert mismatch(schema, body, document) is None, mismatch(schema, body, document)
    return body


def test_the_ticket_endpoints_send_what_they_document(http, tenant, document):
    email = f"doc-{uuid.uuid4().hex[:8]}@example.com"
    create = f"{BASE}/ticket/createTicket"
    ticket = check(document, "post", create, post(http, create, tenant, {
        "title": "Wifi drops", "customerEmail": email, "category": "Connectivity", "surprise": 1,
        "messages": [{"role": "customer", "content": "it drops"}]}))
    check(document, "post", create, http.post(create + "?dryRun=true", headers=tenant.headers,
                                              json={"title": "Wifi drops", "customerEmail": email}))
    get = f"{BASE}/ticket/getTicket/{{ticketId}}"
    check(document, "get", get, http.get(f"{BASE}/ticket/getTicket/{ticket['ticketId']}", headers=tenant.headers))
    query = f"{BASE}/ticket/queryTickets"
    check(document, "post", query, post(http, query, tenant, {"customerEmail": email, "limit": None}))
    update = f"{BASE}/ticket/updateTicket"
    check(document, "post", update, post(http, update, tenant, {"ticketId": ticket["ticketId"], "status": "resolved"}))
    add = f"{BASE}/ticket/addMessage"
    check(document, "post", add, post(http, add, tenant, {"ticketId": ticket["ticketId"], "role": "customer",
                                                          "content": "still broken"}))


def test_the_customer_and_device_endpoints_send_what_they_document(http, tenant, document):
    email = f"doc-{uuid.uuid4().hex[:8]}@example.com"
    serial = f"SN-{uuid.uuid4().hex[:8]}"
    save = f"{BASE}/customer/createOrUpdateCustomer"
    customer = check(document, "post", save, post(http, save, tenant, {"email": email, "name": "Doc"}))
    query = f"{BASE}/customer/queryCustomer"
    check(document, "post", query, post(http, query, tenant, {"email": email}))
    get = f"{BASE}/customer/getCustomer/{{telemetronCustomerId}}"
    check(document, "get", get, http.get(f"{BASE}/customer/getCustomer/{customer['telemetronCustomerId']}",
                                         headers=tenant.headers))
    device = f"{BASE}/device"
    check(document, "post", device, post(http, device, tenant, {"identifier": serial, "type": "Thermostat"}))
    bulk = f"{BASE}/device/bulk-metadata"
    check(document, "post", bulk, post(http, bulk, tenant, {"devices": {serial: {"fw": "1"}, "nope": {}}}))
    calls = [
        ("assignDeviceToOwners", {"deviceIdentifier": serial, "customerEmails": [email]}),
        ("unassignDeviceFromOwner", {"deviceIdentifier": serial, "customerEmail": email}),
        ("assignDevicesToOwner", {"customerEmail": email, "deviceIdentifiers": [serial]}),
        ("unassignDevicesFromOwner", {"customerEmail": email, "deviceIdentifiers": [serial]}),
    ]
    for name, body in calls:
        path = f"{BASE}/deviceAssignment/{name}"
        check(document, "post", path, post(http, path, tenant, body))
