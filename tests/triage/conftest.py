"""The categorizer tests' models, trained once a session on the small hand-written data of
tests/support/triage.py."""

from __future__ import annotations

import pytest

from telemetron.triage import embedder
from tests.support.triage import train_examples


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
