"""The Sanic application factory."""

from __future__ import annotations

import logging
from typing import Any

import pluggy
from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse
from sanic_ext import Extend

from hostmgr import __version__, db
from hostmgr.api import accounts, instances, integration, packages, system, usage, users
from hostmgr.api.errors import JsonErrorHandler
from hostmgr.audit import AuditLog
from hostmgr.config import Settings
from hostmgr.panel import create_blueprint as create_panel
from hostmgr.plugins import call_hook, create_plugin_manager
from hostmgr.ratelimit import TokenRateLimiter
from hostmgr.routing import RouteWatcher, load_router
from hostmgr.runtime import load_runtime
from hostmgr.services.instance_stats import StatsReader
from hostmgr.services.instances import InstanceService
from hostmgr.services.usage import UsageMeter

logger = logging.getLogger(__name__)

# Bodies over this are cut off by the server itself (413) before any handler;
# integration endpoints apply the tighter ``max_body_bytes`` (422) on top.
HARD_BODY_LIMIT = 1024 * 1024

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # SSO links carry their signature in the URL: never leak it as a referrer.
    "Referrer-Policy": "no-referrer",
}


def create_app(
    settings: Settings,
    pm: pluggy.PluginManager | None = None,
    *,
    manage_db: bool = True,
    name: str = "hostmgr",
) -> Sanic[Any, Any]:
    """Build the app.

    With ``manage_db`` false the caller opens and closes the database itself, as
    the tests do to share one connection across many requests.
    """
    pm = pm or create_plugin_manager()
    app = Sanic(name, error_handler=JsonErrorHandler())
    app.config.REQUEST_MAX_SIZE = max(HARD_BODY_LIMIT, settings.max_body_bytes)
    app.config.PROXIES_COUNT = settings.proxies_count
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.pm = pm
    app.ctx.limiter = TokenRateLimiter(settings.rate_limit, settings.rate_limit_storage)
    app.ctx.runtime = app.ctx.instances = app.ctx.stats = app.ctx.usage = None
    # Built here, not at start-up, so that a bad proxy setting stops ``serve``
    # before it forks workers.
    app.ctx.router = load_router(pm, settings)
    app.ctx.routes = None
    app.ctx.audit = AuditLog()

    Extend(
        app,
        config={
            "oas_ui_default": "swagger",
            "oas_url_prefix": "/docs",
            "health": False,
            "cors": False,
            # Automatic HEAD and OPTIONS routes re-finalize the router once per
            # route at start-up; the API needs neither.
            "http_auto_head": False,
            "http_auto_options": False,
        },
    )
    app.ext.openapi.describe("hostmgr integration API", version=__version__)
    app.ext.openapi.add_security_scheme("token", "http", scheme="bearer")

    api = integration.create_blueprint()
    for module in (system, packages, accounts, users, instances, usage):
        module.register(api)
    app.blueprint(api)
    app.blueprint(create_panel())
    pm.hook.hostmgr_register_routes(app=app, settings=settings)

    app.middleware(add_security_headers, "response")

    @app.before_server_start
    async def start(app: Sanic[Any, Any]) -> None:
        if manage_db:
            await db.connect(settings.database_url)
            await db.check_schema()
        app.ctx.audit.start()
        if app.ctx.router is not None:
            app.ctx.routes = RouteWatcher(app.ctx.router, settings.route_check_interval)
            await app.ctx.routes.round()  # routes back before the first request
            app.ctx.routes.loop.start()
        runtime = load_runtime(pm, settings)
        if runtime is None:
            logger.error(
                "no runtime plugin for %s: instance calls answer 503", settings.runtime
            )
        else:
            app.ctx.runtime = runtime
            app.ctx.instances = InstanceService(settings, runtime, app.ctx.routes)
            app.ctx.stats = StatsReader(runtime)
            app.ctx.stats.sampler.start()
            app.ctx.usage = UsageMeter(runtime, app.ctx.stats, settings.usage_interval)
            app.ctx.usage.loop.start()
        await _run_hook(pm, "hostmgr_startup", app, settings)

    @app.after_server_stop
    async def stop(app: Sanic[Any, Any]) -> None:
        await _run_hook(pm, "hostmgr_shutdown", app, settings)
        if app.ctx.usage is not None:
            await app.ctx.usage.loop.stop()
        if app.ctx.stats is not None:
            await app.ctx.stats.sampler.stop()
        if app.ctx.runtime is not None:
            await app.ctx.runtime.close()
        if app.ctx.routes is not None:
            await app.ctx.routes.loop.stop()
        if app.ctx.router is not None:
            await app.ctx.router.close()
        await app.ctx.audit.stop()
        if manage_db:
            await db.close()

    return app


async def add_security_headers(request: Request, response: BaseHTTPResponse) -> None:
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)


async def _run_hook(
    pm: pluggy.PluginManager, hook: str, app: Sanic[Any, Any], settings: Settings
) -> None:
    for plugin, outcome in await call_hook(pm, hook, app=app, settings=settings):
        if isinstance(outcome, BaseException):
            raise RuntimeError(f"plugin {plugin} failed in {hook}") from outcome
