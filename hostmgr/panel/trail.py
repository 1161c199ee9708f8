"""Every panel POST leaves an AuditEntry, like every integration API call."""

from __future__ import annotations

import time
from typing import Any

from sanic import Request
from sanic.response import BaseHTTPResponse

from hostmgr.api.integration import redact
from hostmgr.auth import client_ip
from hostmgr.panel.auth import CSRF_FIELD
from hostmgr.panel.pages import PanelState


def _form_of(request: Request) -> dict[str, Any]:
    form = {
        key: values[0] if len(values) == 1 else values
        for key, values in (request.form or {}).items()
        if key != CSRF_FIELD
    }
    return dict(redact(form))


async def record_post(request: Request, response: BaseHTTPResponse) -> None:
    """Response middleware: one audit entry per panel POST, secrets redacted."""
    state = getattr(request.ctx, "panel", None)
    if request.method != "POST" or not isinstance(state, PanelState):
        return
    details: dict[str, Any] = {"form": _form_of(request), **state.audit_details}
    if state.acting_for is not None:
        details["on_behalf_of"] = state.acting_for.username
    user_id = state.user.id if state.user is not None else state.audit_user_id
    request.app.ctx.audit.record(
        user_id=user_id,
        token_id=None,
        method="POST",
        path=request.path[:2048],
        ip=client_ip(request)[:45],
        status=response.status,
        duration_ms=round((time.perf_counter() - state.started) * 1000, 3),
        details=details,
    )
