"""The API documents itself: /openapi.json with the document's examples and every error, and /docs."""

from __future__ import annotations

import pytest

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
    assert set(operation["responses"]) == {"200", "400", "401", "404", "413", "422", "500"}
    request_schema = schema["components"]["schemas"]["CreateTicketRequest"]
    assert request_schema["required"] == ["title"]
    assert request_schema["properties"]["priority"]["default"] == "medium"
    assert schema["components"]["securitySchemes"]["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    # Every $ref points at a schema that exists.
    text = str(schema)
    for name in ("CreateTicketRequest", "CreateTicketResponse", "ErrorResponse", "TicketMessageIn"):
        assert f"#/components/schemas/{name}" in text and name in schema["components"]["schemas"]


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
