"""Identifier formats, as Telemetron uses them: ``cust_`` + 12 hex characters, UUID tickets, and so on."""

import os
import secrets


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
    """A random (version 4) UUID, as ``str(uuid.uuid4())`` writes it, without building a ``UUID``."""
    value = int.from_bytes(os.urandom(16)) & _UUID4_CLEAR | _UUID4_SET
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# The version (4) and variant (RFC 4122) bits of a random UUID.
_UUID4_CLEAR = ~(0xF000 << 64 | 0xC000 << 48)
_UUID4_SET = 0x4000 << 64 | 0x8000 << 48


def request_id() -> str:
    return os.urandom(16).hex()


def member_id() -> str:
    return prefixed("mem")


def device_id() -> str:
    return prefixed("dev")
