"""The API documents itself: /openapi.json with the document's examples and every error, and /docs."""

from __future__ import annotations

import json

import pytest

from tests.support.http import post

PATH = "/api/ext-v1/ticket/createTicket"


def test_openapi_describes_create_ticket_with_examples_and_errors(http):
    schema = http.get("/openapi.json").json()
    operation = schema["paths"][PATH]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {e["summary"] for e in examples.values()} == {
        "Create Ticket with Customer Email",
        "Create Ticket with Customer ID",
        "Create Ticket with Messages",
    }
    assert set(operation["responses"]) == {"200", "400", "401", "404", "413", "422", "429", "500"}
    request_schema = schema["components"]["schemas"]["CreateTicketRequest"]
    assert request_schema["required"] == ["title"]
    assert request_schema["properties"]["priority"]["default"] == "medium"
    assert schema["components"]["securitySchemes"]["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    # Every $ref points at a schema that exists.
    text = str(schema)
    for name in ("CreateTicketRequest", "CreateTicketResponse", "ErrorResponse", "TicketMessageIn"):
        assert f"#/components/schemas/{name}" in text and name in schema["components"]["schemas"]


def test_every_error_create_ticket_returns_is_documented_with_its_code(http, tenant, other_tenant):
    """Each mistake a client can make, sent to the real server: the code it gets back is among the
    OpenAPI examples of that status, so a client author finds every error in /docs."""

    documented = {
        status: set(response["content"]["application/json"]["examples"])
        for status, response in http.get("/openapi.json").json()["paths"][PATH]["post"]["responses"].items()
        if status != "200"
    }
    other_customer = post(http, PATH, other_tenant, {"title": "x", "customerEmail": "other@example.com"}).json()
    good = {"title": "Device not connecting to WiFi", "customerEmail": "john.doe@example.com"}
    mistakes = [
        ({"content": b"{"}, None),
        ({"content": b"[1, 2]"}, None),
        ({"body": {"customerEmail": "john.doe@example.com"}}, None),
        ({"body": {**good, "title": "  "}}, None),
        ({"body": {**good, "title": 5}}, None),
        ({"body": {**good, "title": "x" * 256}}, None),
        ({"body": {**good, "priority": "critical"}}, None),
        ({"body": {"title": "x"}}, None),
        ({"body": {**good, "customerEmail": "john.doe@"}}, None),
        ({"body": {**good, "messages": [{"role": "admin", "content": "hi"}]}}, None),
        ({"body": {**good, "messages": [{"role": "customer", "content": "m"}] * 1001}}, None),
        ({"body": {**good, "description": "d" * 70_000}}, None),
        ({"body": {**good, "title": "a\u0000b"}}, None),
        ({"body": {**good, "customerId": "cust_000000000000"}}, None),
        ({"body": {**good, "customerId": other_customer["customerId"]}}, None),
        ({"body": good, "headers": {"Idempotency-Key": "k" * 256}}, None),
        ({"body": good}, {"x-api-key": "tlm_not_a_key"}),
        ({"body": good}, {}),
        ({"content": b"{" + b" " * (1024 * 1024) + b"}"}, None),
    ]
    seen = set()
    for request, key in mistakes:
        headers = {**(tenant.headers if key is None else key), **request.get("headers", {})}
        content = request.get("content")
        response = http.post(PATH, content=content if content is not None else json.dumps(request["body"]),
                             headers={"Content-Type": "application/json", **headers})
        status, code = str(response.status_code), response.json()["code"]
        assert code in documented.get(status, set()), (request, status, code, documented.get(status))
        seen.add(code)
    reused = {"Idempotency-Key": "openapi-reuse", **tenant.headers}
    assert post(http, PATH, None, good, headers=reused).status_code == 200
    response = post(http, PATH, None, {**good, "title": "Another"}, headers=reused)
    assert response.json()["code"] in documented["422"]
    assert len(seen) >= 17  # the mistakes above are distinct errors, not one error seen many times


@pytest.mark.parametrize("page", ["/docs"])
def test_interactive_docs_are_served_without_internet(http, page):
    import re

    response = http.get(page)
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets and all(a.startswith("/static/api-docs/") for a in assets), assets  # no CDN
    for asset in assets:
        served = http.get(asset)
        assert served.status_code == 200 and len(served.content) > 500, asset
    assert "/openapi.json" in response.text and "https://" not in response.text


def _request_validator(document, schema):
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]}, validate_formats=True)


def test_every_request_example_is_valid_under_its_own_schema(http):
    """The document's examples (the ext-v1 specification's among them) are what its schemas allow:
    a schema tightened to say what the server refuses must still take every example it shows."""
    document = http.get("/openapi.json").json()
    checked = 0
    for path, methods in document["paths"].items():
        for operation in methods.values():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            validator = _request_validator(document, content["schema"])
            for name, example in content["examples"].items():
                errors = [e.message for e in validator.iter_errors(example["value"])]
                assert not errors, (path, name, errors)
                checked += 1
    assert checked >= 25


@pytest.mark.parametrize(("body", "why"), [
    ({"title": "x"}, "neither customerEmail nor customerId"),
    ({"title": "x", "customerEmail": "  ", "customerId": ""}, "both blank"),
    ({"title": " ", "customerEmail": "a@example.com"}, "blank title"),
    ({"title": "x", "customerEmail": "a@example.test"}, "a special-use domain"),
    ({"title": "x", "customerId": "c", "messages": [{"role": "bot", "content": "\t"}]}, "blank message"),
])
def test_the_create_ticket_schema_refuses_what_the_server_refuses(http, tenant, body, why):
    document = http.get("/openapi.json").json()
    schema = document["paths"][PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert not _request_validator(document, schema).is_valid(body), why
    assert http.post(PATH, json=body, headers=tenant.headers).status_code == 400, why


def test_a_dry_run_refuses_an_idempotency_key_the_real_call_would(http, tenant, db):
    body = {"title": "Dry", "customerEmail": "dry@example.com"}
    response = http.post(f"{PATH}?dryRun=true", json=body, headers={**tenant.headers, "Idempotency-Key": "k" * 256})
    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"
    assert http.post(f"{PATH}?dryRun=true", json=body, headers={**tenant.headers, "Idempotency-Key": "ok-1"}
                     ).json()["dryRun"] is True


def test_another_method_on_a_path_declared_with_its_slash_is_a_405_not_a_redirect_loop(http, tenant):
    response = http.post("/api/ext-v1/customer/getCustomer/", json={}, headers=tenant.headers)
    assert response.status_code == 405


def test_an_integral_limit_written_as_a_float_is_that_integer(http, tenant):
    response = http.post("/api/ext-v1/ticket/queryTickets", json={"limit": 5.0}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    refused = http.post("/api/ext-v1/ticket/queryTickets", json={"limit": 5.5}, headers=tenant.headers)
    assert refused.json()["code"] == "invalid_limit"
