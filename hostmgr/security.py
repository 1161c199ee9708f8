"""Password hashing, API token minting and lookup keys.

Passwords use argon2id: slow on purpose. Tokens carry 256 random bits, so one
SHA-256 is enough to keep them unreadable at rest while staying an index lookup.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "hm_"  # noqa: S105 - a marker, not a secret
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh API token, shown to its owner once."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a high-entropy secret (token, session key)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """The first characters of a token, safe to show to tell tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]
