"""Every hook a hostmgr plugin can implement.

Call hooks with keyword arguments only. An implementation may be a coroutine
function: the core awaits whatever a hook returns (see ``hostmgr.plugins``).
Arguments may be added to a hook later, never removed, and an implementation may
take fewer arguments than its spec.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sanic import Request, Sanic

    from hostmgr.auth import Principal
    from hostmgr.config import Settings
    from hostmgr.events import Event

hookspec = pluggy.HookspecMarker("hostmgr")
hookimpl = pluggy.HookimplMarker("hostmgr")


# --- runtime -------------------------------------------------------------------


@hookspec(firstresult=True)
def hostmgr_runtime(settings: Settings, name: str) -> Any:
    """Return the container runtime backend called ``name``, or None.

    Exactly one runtime is active: the one ``settings.runtime`` names. The backend
    is a plain object whose methods are coroutines (create, start, stop, remove,
    inspect, stats, apply limits, logs), so this hook itself must not be async.
    Stops at the first non-None result.

    :param settings: the server settings.
    :param name: the runtime the config selects, for example ``"docker"``.
    """


# --- routing -------------------------------------------------------------------


@hookspec(firstresult=True)
def hostmgr_router(settings: Settings, name: str) -> Any:
    """Return the reverse-proxy router called ``name``, or None.

    The router adds and removes the route from an instance's domain to its
    published 127.0.0.1 port; its methods are coroutines.
    Stops at the first non-None result.

    :param settings: the server settings.
    :param name: the proxy the config selects, for example ``"caddy"``.
    """


# --- auth ----------------------------------------------------------------------


@hookspec
def hostmgr_authenticate(
    request: Request, settings: Settings
) -> Principal | None | Awaitable[Principal | None]:
    """Turn a request into a principal, or return None if not yours to judge.

    Every implementation is called and awaited; the first principal in call order
    wins. Raise ``hostmgr.errors.Unauthenticated`` or ``Forbidden`` to refuse a
    request that carries your kind of credentials but fails them.

    :param request: the incoming request.
    :param settings: the server settings.
    """


# --- events --------------------------------------------------------------------


@hookspec
def hostmgr_event(event: Event) -> None | Awaitable[None]:
    """Receive a lifecycle or usage event. Every subscriber is called.

    A subscriber that fails is logged and does not stop the others or the
    action that raised the event.

    :param event: what happened, to what, and when.
    """


# --- startup and routes --------------------------------------------------------


@hookspec
def hostmgr_register_routes(app: Sanic[Any, Any], settings: Settings) -> None:
    """Add routes, blueprints or middleware to the app while it is being built.

    :param app: the Sanic app, not yet started.
    :param settings: the server settings.
    """


@hookspec
def hostmgr_startup(app: Sanic[Any, Any], settings: Settings) -> None | Awaitable[None]:
    """Run once in each server worker before it takes requests.

    Start background tasks here with ``app.add_task``.

    :param app: the running Sanic app.
    :param settings: the server settings.
    """


@hookspec
def hostmgr_shutdown(
    app: Sanic[Any, Any], settings: Settings
) -> None | Awaitable[None]:
    """Run once in each server worker after it stops taking requests.

    :param app: the Sanic app.
    :param settings: the server settings.
    """
