"""The default auth plugin: ``Authorization: Bearer <token>`` API tokens."""

from __future__ import annotations

import functools
import hmac
from datetime import UTC, datetime, timedelta

from sanic import Request

from hostmgr import caches, db
from hostmgr.auth import Principal, client_ip, is_ip_allowed
from hostmgr.config import Settings
from hostmgr.errors import Forbidden, Unauthenticated
from hostmgr.hookspecs import hookimpl
from hostmgr.models import ApiToken, User
from hostmgr.security import digest

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def parse_bearer(header: str) -> str | None:
    """The token of a ``Bearer`` header (scheme case-insensitive), else None."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value if value and " " not in value else None


@hookimpl
async def hostmgr_authenticate(
    request: Request, settings: Settings
) -> Principal | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    token = parse_bearer(header)
    if token is None:
        raise Unauthenticated("Malformed Authorization header; use 'Bearer <token>'")

    token_hash = digest(token)
    cached = caches.tokens.get(token_hash)
    if cached is None:
        row = await db.fetch_one(_token_sql(), token_hash)
        if row is None:
            raise Unauthenticated("Invalid API token")
        cached = db.build(ApiToken, row, "t"), db.build(User, row, "u")
        caches.tokens.put(token_hash, cached)
    record, user = cached
    if not hmac.compare_digest(record.token_hash, token_hash):
        raise Unauthenticated("Invalid API token")
    now = datetime.now(UTC)
    if record.expires_at is not None and record.expires_at <= now:
        raise Unauthenticated("API token has expired")
    if not is_ip_allowed(client_ip(request), record.allowed_ips):
        raise Forbidden("Your IP address is not allowed for this token")
    if user.suspended:
        raise Forbidden("This account is suspended")

    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        await ApiToken.filter(id=record.id).update(last_used_at=now)
        record.last_used_at = now
    return Principal(user=user, token=record)


@functools.cache
def _token_sql() -> str:
    # Every request runs this: hand-written, it costs a third of the ORM's query.
    # Column names come from the models; the token hash is a bound parameter.
    columns = f"{db.joined_columns(ApiToken, 't')}, {db.joined_columns(User, 'u')}"
    return (
        f"SELECT {columns} "  # noqa: S608
        'FROM "api_tokens" t JOIN "users" u ON u."id" = t."user_id" '
        'WHERE t."token_hash" = ?'
    )
