"""What a client sends and sees: JSON bodies in, the ext-v1 specification's bodies and errors out."""

from __future__ import annotations

import json


def post(http, path, tenant=None, body=None, *, content=None, headers=None):
    """POST ``body`` as JSON (or raw ``content``) with the tenant's key."""
    all_headers = {"Content-Type": "application/json", **(tenant.headers if tenant else {}), **(headers or {})}
    return http.post(path, content=json.dumps(body).encode() if content is None else content, headers=all_headers)


def ok(response) -> dict:
    """A Telemetron success body: 200, JSON, ``success`` true and a message."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is True
    assert isinstance(body["message"], str) and body["message"]
    return body


def rejected(response, status: int, code: str, field=..., words=(), *, message=None) -> dict:
    """A Telemetron error body: the status, JSON with ``error``, ``code`` (and ``field`` unless
    ``...`` or ``"-"``), no ``success``, a request id, never a traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id")
    assert "Traceback" not in response.text
    body = response.json()
    assert "success" not in body
    assert isinstance(body["error"], str) and body["error"]
    assert body["code"] == code, body
    if field is not ... and field != "-":
        assert body.get("field") == field, body
    if message is not None:
        assert body["error"] == message, body
    for word in words:
        assert word.lower() in body["error"].lower(), (word, body["error"])
    return body


def create_ticket(http, tenant, **fields) -> dict:
    """A ticket through createTicket (a WiFi problem of john.doe@example.com unless ``fields`` say
    otherwise), for tests about what follows it."""
    body = {"title": "Device not connecting to WiFi", "customerEmail": "john.doe@example.com", **fields}
    response = http.post("/api/ext-v1/ticket/createTicket", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def get_ticket(http, tenant, ticket_id: str) -> dict:
    """The ticket as getTicket shows it."""
    response = http.get(f"/api/ext-v1/ticket/getTicket/{ticket_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticket"]
