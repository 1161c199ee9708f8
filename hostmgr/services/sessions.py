"""Web panel sessions: a random cookie key, stored only as its hash."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from hostmgr.models import PanelSession, User
from hostmgr.security import digest

COOKIE_NAME = "hostmgr_session"


async def open_session(user: User, ttl_seconds: int) -> str:
    """Start a session for ``user``; return the cookie value."""
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await PanelSession.create(
        key_hash=digest(key), user=user, expires_at=now + timedelta(seconds=ttl_seconds)
    )
    await PanelSession.filter(expires_at__lt=now).delete()
    return key


async def session_user(key: str | None) -> User | None:
    """The user of a live session, or None (unknown, expired or suspended)."""
    if not key:
        return None
    session = await PanelSession.get_or_none(
        key_hash=digest(key), expires_at__gt=datetime.now(UTC)
    ).select_related("user__reseller")
    if session is None or is_locked_out(session.user):
        return None
    return session.user


async def close_session(key: str | None) -> None:
    if key:
        await PanelSession.filter(key_hash=digest(key)).delete()


def is_locked_out(user: User) -> bool:
    """A suspended user, or the customer of a suspended reseller, may not sign in."""
    reseller = user.reseller if user.reseller_id else None
    return user.suspended or bool(reseller and reseller.suspended)
