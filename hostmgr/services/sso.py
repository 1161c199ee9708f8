"""One-time, expiring, signed SSO links into the panel.

The ``signature`` query value is an HS256 JWT under the server secret carrying the
user id, the expiry and a random ``jti``. Redeeming a link records its ``jti``;
the unique index makes a second redemption fail, on every worker at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import jwt
from tortoise.exceptions import IntegrityError

from hostmgr.config import Settings
from hostmgr.models import SsoRedemption, User

logger = logging.getLogger(__name__)

AUDIENCE = "hostmgr-sso"
ALGORITHM = "HS256"


class InvalidLink(Exception):
    """The link is tampered with, expired, replayed or for a missing user."""


def _signing_key(settings: Settings) -> bytes:
    # A key of its own, so an SSO token can never pass for any other signed value.
    return hashlib.sha256(b"sso:" + settings.secret_key.encode()).digest()


def make_link(settings: Settings, user: User) -> str:
    expires = int(time.time()) + settings.sso_ttl
    claims = {
        "sub": str(user.id),
        "exp": expires,
        "aud": AUDIENCE,
        "jti": secrets.token_urlsafe(24),
    }
    signature = jwt.encode(claims, _signing_key(settings), algorithm=ALGORITHM)
    query = urlencode({"expires": expires, "signature": signature})
    return f"{settings.public_url}/sso/login/{user.id}?{query}"


async def redeem(
    settings: Settings, user_id: int, expires: str, signature: str
) -> User:
    """Check a link and spend it; return the user it logs in."""
    try:
        claims = jwt.decode(
            signature,
            _signing_key(settings),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud", "jti"]},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidLink(f"bad signature: {type(exc).__name__}") from None
    if claims["sub"] != str(user_id) or str(claims["exp"]) != expires:
        raise InvalidLink("link parameters do not match its signature")

    user = await User.get_or_none(id=user_id).select_related("reseller")
    if user is None:
        raise InvalidLink("user no longer exists")
    try:
        await SsoRedemption.create(
            jti=claims["jti"],
            user=user,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except IntegrityError:
        raise InvalidLink("link already used") from None
    await SsoRedemption.filter(expires_at__lt=datetime.now(UTC)).delete()
    logger.info("SSO link redeemed for user %s", user.username)
    return user
