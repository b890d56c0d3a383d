"""A form that creates something with a secret shown once (an API key, a webhook endpoint, a
mailbox) carries a one-time value: a reload or Back that sends it again creates nothing more."""

from __future__ import annotations

import secrets

from telemetron.db.scoped import Scoped
from telemetron.idempotency import service as idempotency


def new_value() -> str:
    return secrets.token_urlsafe(16)


def first_sending(scoped: Scoped, once: str, *, what: str) -> bool:
    """True the first time ``once`` is sent for ``what``; claimed like an Idempotency-Key, in the
    transaction that creates the thing, so that it is created at most once per form."""
    if not once:
        return True
    return idempotency.claim(scoped, key=f"web:{what}:{once[:64]}", endpoint=f"web/{what}",
                             request_hash="form") is None
