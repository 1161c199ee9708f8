"""The web panel: server-rendered pages for customers, resellers and admins.

Pages live at ``/`` (each role's home) and under ``/panel``; the SSO landing is
``/sso/login/<user id>``. Each topic has its module: ``auth`` (sign-in,
sessions, CSRF, roles), ``customer`` (instances, for every role), ``reseller``,
``admin`` and the admin's ``packages``, ``tokens`` and ``audit``; ``pages``
renders, ``errors`` answers failures, ``trail`` audits every POST.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sanic import Blueprint, HTTPResponse, Request, Sanic
from sanic.exceptions import NotFound

from hostmgr.models import Role
from hostmgr.panel import (
    admin,
    audit,
    auth,
    customer,
    errors,
    packages,
    reseller,
    throttle,
    tokens,
    trail,
)
from hostmgr.panel.pages import route, state_of

STATIC = Path(__file__).parent / "static"


def create_blueprint() -> Blueprint:
    bp = Blueprint("panel")
    bp.middleware(auth.load_state, "request")
    bp.middleware(auth.save_cookies, "response")
    bp.middleware(trail.record_post, "response")
    bp.exception(Exception)(errors.handle_error)
    bp.static("/panel/static", STATIC, name="static")

    @bp.before_server_start
    async def start_throttle(app: Sanic[Any, Any]) -> None:
        app.ctx.login_throttle = throttle.LoginThrottle(app.ctx.limiter.storage)

    @route(bp, "/")
    async def home(request: Request) -> HTTPResponse:
        user = state_of(request).user
        if user is None:
            return auth.login_page(request, status=401, heading="Not signed in")
        if user.role == Role.ADMIN:
            return await admin.overview(request)
        if user.role == Role.RESELLER:
            return await reseller.home(request)
        return await customer.dashboard(request)

    for module in (auth, customer, reseller, admin, packages, tokens, audit):
        module.register(bp)

    @route(bp, "/panel/<rest:path>", "GET", "POST")
    async def not_found(request: Request, rest: str) -> HTTPResponse:
        raise NotFound("No such page")

    return bp
