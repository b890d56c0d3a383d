"""Identifier formats, as Telemetron uses them: ``cust_`` + 12 hex characters, UUID tickets, and so on."""

import secrets
import uuid


def prefixed(prefix: str, hex_chars: int = 12) -> str:
    return f"{prefix}_{secrets.token_hex(hex_chars // 2)}"


def customer_id() -> str:
    return prefixed("cust")


def organization_id() -> str:
    return prefixed("org")


def category_id() -> str:
    return prefixed("cat")


def api_key_id() -> str:
    return prefixed("key")


def ticket_id() -> str:
    return str(uuid.uuid4())


def member_id() -> str:
    return prefixed("mem")


def device_id() -> str:
    return prefixed("dev")
