"""Signing in and out of the panel: sessions, CSRF, roles, acting as a customer.

Every panel request passes ``load_state``: the session cookie names the user,
and every POST must carry the CSRF token of that session (or, before sign-in,
of the visitor's own random cookie), or it is refused with 403. Failed
password sign-ins go through ``throttle``.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import time
from collections.abc import Callable

from sanic import Blueprint, HTTPResponse, Request, redirect

from hostmgr import security
from hostmgr.auth import client_ip
from hostmgr.errors import Forbidden, Unauthenticated
from hostmgr.models import Role, User
from hostmgr.panel import cookies
from hostmgr.panel.forms import form_value
from hostmgr.panel.pages import (
    Flash,
    Handler,
    PanelState,
    read_flashes,
    redirect_to,
    render,
    route,
    safe_next,
    state_of,
)
from hostmgr.panel.throttle import LoginThrottle
from hostmgr.services import accounts, sessions, sso

logger = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"  # noqa: S105 - a form field's name
CSRF_REFUSED = (
    "This form has expired or did not come from this panel. "
    "Reload the page and try again."
)
BAD_LOGIN = "The email, username or password is not right."


def requires(*roles: Role) -> Callable[[Handler], Handler]:
    """Let only a signed-in user with one of ``roles`` (any, if none) through."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(
            request: Request, *args: object, **kwargs: object
        ) -> HTTPResponse:
            user = state_of(request).user
            if user is None:
                raise Unauthenticated("Sign in to see this page.")
            if roles and user.role not in roles:
                raise Forbidden("Your account may not open this page.")
            return await handler(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


async def load_state(request: Request) -> None:
    """Request middleware: who is signed in; refuse a POST without its token."""
    settings = request.app.ctx.settings
    state = PanelState(settings=settings, started=time.perf_counter())
    request.ctx.panel = state
    if request.path.startswith("/panel/static/"):
        return

    key = request.cookies.get(cookies.SESSION)
    user = await sessions.session_user(key)
    if user is not None:
        state.user, state.session_key = user, key
        state.csrf_secret = key
        state.acting_for = await _acting_for(user, request.cookies.get(cookies.RETURN))
    else:
        state.csrf_secret = request.cookies.get(cookies.CSRF) or None
    state.flashes = read_flashes(settings, request.cookies.get(cookies.FLASH))

    if request.method == "POST":
        sent = str(
            form_value(request, CSRF_FIELD) or request.headers.get("x-csrf-token") or ""
        )
        if state.csrf_secret is None or not hmac.compare_digest(
            sent, state.csrf_token()
        ):
            logger.info(
                "refused a panel POST to %s without its CSRF token", request.path
            )
            raise Forbidden(CSRF_REFUSED)


async def _acting_for(user: User, return_key: str | None) -> User | None:
    if not return_key:
        return None
    owner = await sessions.session_user(return_key)
    if owner is None:
        return None
    if owner.role == Role.ADMIN and user.role != Role.ADMIN:
        return owner
    if owner.role == Role.RESELLER and user.reseller_id == owner.id:
        return owner
    return None


async def save_cookies(request: Request, response: HTTPResponse) -> None:
    """Response middleware: the visitor's CSRF secret and spent flash messages."""
    state = getattr(request.ctx, "panel", None)
    if not isinstance(state, PanelState):
        return
    if state.new_csrf_secret and state.csrf_secret and state.user is None:
        cookies.set_cookie(response, state.settings, cookies.CSRF, state.csrf_secret)
    if state.flash_shown and not state.flash_set:
        cookies.drop_cookie(response, state.settings, cookies.FLASH)


def start_session(request: Request, response: HTTPResponse, key: str) -> HTTPResponse:
    settings = state_of(request).settings
    cookies.set_cookie(
        response, settings, cookies.SESSION, key, max_age=settings.session_ttl
    )
    return response


async def open_session_as(request: Request, target: User) -> HTTPResponse:
    """Act as ``target`` (a reseller's customer, or anyone for an admin).

    The caller's own session waits in the return cookie until it comes back.
    """
    state = state_of(request)
    if state.acting_for is not None:
        raise Forbidden("Return to your own account first.")
    if sessions.is_locked_out(target):
        raise Forbidden(f"{target.username} is suspended and cannot be signed in.")
    key = await sessions.open_session(target, state.settings.session_ttl)
    logger.info(
        "%s opened a panel session as %s",
        state.user.username if state.user else "?",
        target.username,
    )
    response = redirect_to(
        request, "/", Flash("success", f"You are now acting as {target.name}.")
    )
    cookies.set_cookie(
        response,
        state.settings,
        cookies.RETURN,
        state.session_key or "",
        max_age=state.settings.session_ttl,
    )
    return start_session(request, response, key)


def login_page(
    request: Request,
    *,
    status: int = 200,
    heading: str = "Sign in",
    error: str | None = None,
    login: str = "",
    next_path: str = "/",
) -> HTTPResponse:
    return render(
        request,
        "login.html",
        title=heading,
        status=status,
        error=error,
        login=login,
        next_path=safe_next(next_path),
    )


async def _check_password(user: User | None, password: str) -> bool:
    # The same argon2 work for an unknown account, so timing tells nothing.
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await asyncio.to_thread(security.verify_password, stored, password)
    return ok and user is not None


@functools.cache
def _dummy_hash() -> str:
    return security.hash_password("not-a-real-password")


async def _find_login(login: str) -> User | None:
    query = User.all().select_related("reseller")
    if "@" in login:
        return await query.get_or_none(email=accounts.normalize_email(login))
    return await query.get_or_none(username=login.strip().lower())


def register(bp: Blueprint) -> None:
    @route(bp, "/panel/login")
    async def login_form(request: Request) -> HTTPResponse:
        if state_of(request).user is not None:
            return redirect_to(request, safe_next(request.args.get("next")))
        return login_page(request, next_path=request.args.get("next", "/"))

    @route(bp, "/panel/login", "POST")
    async def login_submit(request: Request) -> HTTPResponse:
        login = form_value(request, "login")[:254]
        password = form_value(request, "password")[:1024]
        next_path = form_value(request, "next") or "/"
        throttle: LoginThrottle = request.app.ctx.login_throttle
        ip = client_ip(request)
        if not login or not password:
            return login_page(
                request,
                status=422,
                error="Enter your email or username and your password.",
                login=login,
                next_path=next_path,
            )
        await throttle.check(login, ip)

        user = await _find_login(login)
        if not await _check_password(user, password):
            await throttle.record_failure(login, ip)
            logger.info("failed panel sign-in from %s", ip)
            return login_page(
                request, status=401, error=BAD_LOGIN, login=login, next_path=next_path
            )
        assert user is not None
        state_of(request).audit_user_id = user.id
        if sessions.is_locked_out(user):
            logger.info("refused panel sign-in of suspended user %s", user.username)
            return login_page(
                request,
                status=403,
                error="This account is suspended. Contact your provider.",
                login=login,
                next_path=next_path,
            )

        await sessions.close_session(state_of(request).session_key)
        key = await sessions.open_session(user, state_of(request).settings.session_ttl)
        logger.info("%s signed in to the panel", user.username)
        return start_session(request, redirect_to(request, safe_next(next_path)), key)

    @route(bp, "/panel/logout", "POST")
    async def logout(request: Request) -> HTTPResponse:
        state = state_of(request)
        await sessions.close_session(state.session_key)
        settings = state.settings
        response = redirect_to(request, "/panel/login")
        if state.acting_for is not None:
            await sessions.close_session(request.cookies.get(cookies.RETURN))
        cookies.drop_cookie(response, settings, cookies.SESSION)
        cookies.drop_cookie(response, settings, cookies.RETURN)
        return response

    @route(bp, "/panel/return", "POST")
    @requires()
    async def return_to_own(request: Request) -> HTTPResponse:
        state = state_of(request)
        if state.acting_for is None:
            return redirect_to(request, "/")
        owner = state.acting_for
        await sessions.close_session(state.session_key)
        logger.info("%s returned to its own panel session", owner.username)
        response = redirect_to(
            request, "/", Flash("success", f"Welcome back, {owner.name}.")
        )
        cookies.drop_cookie(response, state.settings, cookies.RETURN)
        return start_session(
            request, response, str(request.cookies.get(cookies.RETURN, ""))
        )

    @route(bp, "/sso/login/<user_id:int>")
    async def sso_login(request: Request, user_id: int) -> HTTPResponse:
        settings = state_of(request).settings
        expires = request.args.get("expires", "")
        signature = request.args.get("signature", "")
        try:
            user = await sso.redeem(settings, user_id, expires, signature)
        except sso.InvalidLink as exc:
            logger.info("refused SSO link for user %s: %s", user_id, exc)
            return sso_denied(request)
        if sessions.is_locked_out(user):
            logger.info("refused SSO link for suspended user %s", user.username)
            return sso_denied(request)

        await sessions.close_session(state_of(request).session_key)
        key = await sessions.open_session(user, settings.session_ttl)
        response = redirect("/", headers={"Cache-Control": "no-store"})
        return start_session(request, response, key)


def sso_denied(request: Request) -> HTTPResponse:
    return render(
        request,
        "error.html",
        title="Link not valid",
        status=403,
        message=(
            "This sign-in link is invalid, expired or already used. "
            "Ask your billing portal for a new one."
        ),
    )
