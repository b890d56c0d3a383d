"""Mailbox URLs carry credentials: encrypted at rest with Fernet under TELEMETRON_SECRET_KEY.

Without the key, adding or using a mailbox is refused with a message that says what to set: a
default key in the code would be a key everyone has. The key may be any long random string; the
Fernet key is derived from it with SHA-256, so changing it makes the stored URLs unreadable (set
them again with ``telemetron mailbox update``).
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken

from telemetron.errors import AppError

ENV = "TELEMETRON_SECRET_KEY"


class SecretKeyMissing(AppError):
    status = 500

    def __init__(self) -> None:
        super().__init__(f"{ENV} is not set: mailbox credentials are encrypted with it. Set it to a long random "
                         "string (python3 -c 'import secrets; print(secrets.token_urlsafe(32))') in the environment "
                         "of every telemetron process", code="secret_key_missing")


class SecretUnreadable(AppError):
    status = 500

    def __init__(self) -> None:
        super().__init__(f"a mailbox URL cannot be decrypted with the current {ENV} (was it changed?): "
                         "set the URL again with telemetron mailbox update", code="secret_unreadable")


def _fernet() -> Fernet:
    secret = os.environ.get(ENV) or ""
    if not secret:
        from telemetron.config import get_settings

        secret = get_settings().secret_key or ""
    if not secret:
        raise SecretKeyMissing()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable() from None
