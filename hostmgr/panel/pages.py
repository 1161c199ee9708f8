"""Rendering panel pages: templates, the per-request state, flash messages.

A flash message outlives one redirect in a cookie sealed under the server
secret (Fernet, with a short lifetime), so that a new API token can be shown on
the page the browser lands on, once, on any worker. The page that shows it
drops the cookie.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

import jinja2
from cryptography.fernet import Fernet, InvalidToken
from sanic import Blueprint, HTTPResponse, Request, html, redirect
from sanic_ext.extensions.openapi import openapi

from hostmgr import __version__
from hostmgr.config import Settings
from hostmgr.models import Role, User
from hostmgr.panel import cookies

logger = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., Coroutine[Any, Any, HTTPResponse]])

FLASH_TTL = 120
# Everything the panel loads comes from itself; no inline script or style.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
PAGE_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": CSP}

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("hostmgr.panel", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

NAVIGATION: Mapping[Role, tuple[tuple[str, str], ...]] = {
    Role.USER: (("/", "Instances"),),
    Role.RESELLER: (("/", "Customers"), ("/panel/instances", "Instances")),
    Role.ADMIN: (
        ("/", "Overview"),
        ("/panel/instances", "Instances"),
        ("/panel/admin/users", "Users"),
        ("/panel/admin/resellers", "Resellers"),
        ("/panel/admin/packages", "Packages"),
        ("/panel/admin/tokens", "API tokens"),
        ("/panel/admin/audit", "Audit log"),
    ),
}


@dataclasses.dataclass(frozen=True)
class Flash:
    level: str  # "success" or "error"
    text: str
    #: Shown once, in a box to copy from: a new API token.
    secret: str | None = None


@dataclasses.dataclass
class PanelState:
    """What the panel knows about a request, at ``request.ctx.panel``."""

    settings: Settings
    started: float = 0.0
    user: User | None = None
    session_key: str | None = None
    #: The reseller or admin whose session waits while it acts as ``user``.
    acting_for: User | None = None
    csrf_secret: str | None = None
    new_csrf_secret: bool = False
    flashes: list[Flash] = dataclasses.field(default_factory=list)
    flash_shown: bool = False
    flash_set: bool = False
    #: For the audit trail: who acted when no one was signed in yet (sign-in),
    #: and what a POST did beyond its form.
    audit_user_id: int | None = None
    audit_details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def csrf_token(self) -> str:
        """The token every form carries; creates the visitor's secret if needed."""
        if self.csrf_secret is None:
            self.csrf_secret = secrets.token_urlsafe(32)
            self.new_csrf_secret = True
        return csrf_token_for(self.settings, self.csrf_secret)


def csrf_token_for(settings: Settings, secret: str) -> str:
    key = hashlib.sha256(b"csrf:" + settings.secret_key.encode()).digest()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def state_of(request: Request) -> PanelState:
    state = getattr(request.ctx, "panel", None)
    if state is None:
        # An error before the panel's middleware ran still renders a page.
        state = PanelState(settings=request.app.ctx.settings)
        request.ctx.panel = state
    assert isinstance(state, PanelState)
    return state


def me(request: Request) -> User:
    """The signed-in user of a page behind ``requires``."""
    user = state_of(request).user
    assert user is not None, "route is missing @requires"
    return user


def route(bp: Blueprint, uri: str, *methods: str) -> Callable[[Handler], Handler]:
    """Register a panel page, kept out of the integration API's OpenAPI."""

    def decorate(handler: Handler) -> Handler:
        openapi.exclude()(handler)
        bp.add_route(handler, uri, methods=list(methods or ("GET",)))
        return handler

    return decorate


def render(
    request: Request,
    template: str,
    *,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTTPResponse:
    state = state_of(request)
    user = state.user
    navigation = NAVIGATION.get(user.role, ()) if user is not None else ()
    flashes = state.flashes
    state.flash_shown = bool(flashes)
    body = ENVIRONMENT.get_template(template).render(
        title=title,
        me=user,
        acting_for=state.acting_for,
        navigation=[
            {"href": href, "label": label, "current": _is_current(request, href)}
            for href, label in navigation
        ],
        flashes=flashes,
        csrf_token=state.csrf_token,
        version=__version__,
        path=request.path,
        **context,
    )
    return html(body, status=status, headers=PAGE_HEADERS)


def _is_current(request: Request, href: str) -> bool:
    if href == "/":
        return request.path == "/"
    return request.path == href or request.path.startswith(href + "/")


def _fernet(settings: Settings) -> Fernet:
    key = hashlib.sha256(b"panel-flash:" + settings.secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def redirect_to(request: Request, location: str, *flashes: Flash) -> HTTPResponse:
    """A 303 to ``location`` carrying ``flashes`` to the page it lands on."""
    state = state_of(request)
    response = redirect(location, status=303, headers={"Cache-Control": "no-store"})
    if flashes:
        payload = json.dumps([dataclasses.asdict(flash) for flash in flashes])
        sealed = _fernet(state.settings).encrypt(payload.encode()).decode()
        cookies.set_cookie(
            response, state.settings, cookies.FLASH, sealed, max_age=FLASH_TTL
        )
        state.flash_set = True
    return response


def read_flashes(settings: Settings, sealed: str | None) -> list[Flash]:
    if not sealed:
        return []
    try:
        payload = _fernet(settings).decrypt(sealed.encode(), ttl=FLASH_TTL)
        return [Flash(**item) for item in json.loads(payload)]
    except (InvalidToken, ValueError, TypeError):
        return []


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another site) is ``default``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    return value
