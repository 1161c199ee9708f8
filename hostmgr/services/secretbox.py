"""Encrypting instance secrets at rest under the server secret (Fernet)."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken

from hostmgr.errors import HostmgrError


class SecretUnreadable(HostmgrError):
    """A stored secret does not decrypt: the server secret has changed."""


def _fernet(server_secret: str) -> Fernet:
    # A key of its own, derived from the server secret for this one purpose.
    key = hashlib.sha256(b"instance-secrets:" + server_secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def new_encryption_key() -> str:
    """A fresh n8n encryption key."""
    return secrets.token_urlsafe(32)


def seal(server_secret: str, plaintext: str) -> str:
    return _fernet(server_secret).encrypt(plaintext.encode()).decode()


def unseal(server_secret: str, sealed: str) -> str:
    try:
        return _fernet(server_secret).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "an instance secret does not decrypt: was the server secret changed?"
        ) from None
