"""Signing webhook deliveries, and checking them on the receiving side.

The signature is ``sha256=`` and the hex HMAC-SHA256, under the shared secret,
of ``<timestamp>.<raw body>``, where the timestamp is the
``X-Hostmgr-Timestamp`` header (unix seconds). This module needs nothing but
the standard library, so a receiver may copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

PREFIX = "sha256="
TOLERANCE = 300


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Hostmgr-Signature`` value for ``body`` sent at ``timestamp``."""
    signed = str(timestamp).encode() + b"." + body
    return PREFIX + hmac.new(_as_bytes(secret), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: str | int,
    body: bytes,
    header: str,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs ``body`` at ``timestamp`` and that is recent.

    A timestamp more than ``tolerance`` seconds from ``now`` (default: the
    clock), either way, is refused, so that a captured delivery cannot be
    replayed later. Receivers should also drop an ``X-Hostmgr-Delivery`` id
    they have seen, as a delivery is repeated if its answer was lost.
    """
    text = str(timestamp).strip()
    if not (text.isascii() and text.isdigit()):
        return False
    current = time.time() if now is None else now
    if abs(current - int(text)) > tolerance:
        return False
    expected = sign(secret, text, body)
    return hmac.compare_digest(expected.encode(), header.strip().encode())
