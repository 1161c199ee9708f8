"""The integration API blueprint: auth, rate limit, roles and the audit trail.

Every route under ``/api/integration`` passes the same gate: an auth plugin names
the principal, the token's rate limit is counted, and only admins and resellers
get through. Each call leaves one AuditEntry, whatever its outcome.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sanic import Blueprint, Request
from sanic.response import BaseHTTPResponse

from hostmgr.auth import authenticate, client_ip, require_role
from hostmgr.models import Role

logger = logging.getLogger(__name__)

PREFIX = "/api/integration"
SECRET_WORDS = ("password", "token", "secret", "key", "signature", "authorization")
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking field replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if any(word in str(key).lower() for word in SECRET_WORDS)
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _audit_details(request: Request) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if request.args:
        details["query"] = redact({k: v for k, v in request.args.items()})
    if request.body:
        try:
            details["body"] = redact(json.loads(request.body))
        except (UnicodeDecodeError, json.JSONDecodeError):
            details["body"] = f"<{len(request.body)} bytes, not JSON>"
    return details


async def gate(request: Request) -> None:
    request.ctx.started = time.perf_counter()
    request.ctx.principal = None
    app = request.app
    principal = await authenticate(app.ctx.pm, request, app.ctx.settings)
    request.ctx.principal = principal
    # The token hash is unique across installations sharing one Redis.
    key = principal.token.token_hash if principal.token else f"user:{principal.user.id}"
    await app.ctx.limiter.hit(key)
    require_role(principal, Role.ADMIN, Role.RESELLER)


async def audit(request: Request, response: BaseHTTPResponse) -> None:
    started = getattr(request.ctx, "started", None)
    if started is None:
        return
    principal = getattr(request.ctx, "principal", None)
    request.app.ctx.audit.record(
        user_id=principal.user.id if principal else None,
        token_id=principal.token.id if principal and principal.token else None,
        method=request.method,
        path=request.path[:2048],
        ip=client_ip(request)[:45],
        status=response.status,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        details=_audit_details(request),
    )


def create_blueprint() -> Blueprint:
    bp = Blueprint("integration", url_prefix=PREFIX)
    bp.middleware(gate, "request", priority=100)
    bp.middleware(audit, "response")
    return bp
