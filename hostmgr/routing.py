"""The reverse-proxy contract that routing plugins implement.

A routing plugin answers the ``hostmgr_router`` hook with a ``Router``: the proxy
that sends each instance's domain to its 127.0.0.1 port. The database is the
truth; the proxy holds a copy. The instance service changes one route at a time
as instances change, and a ``RouteWatcher`` in every worker puts the whole copy
back whenever the proxy has lost it, for example after the proxy restarted.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import enum
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

from hostmgr.errors import ApiError, ConfigError
from hostmgr.models import Instance
from hostmgr.periodic import Periodic

if TYPE_CHECKING:
    from hostmgr.config import Settings
    from hostmgr.doctor import Finding

logger = logging.getLogger(__name__)

WATCH_INTERVAL = 5.0


class RouteState(enum.StrEnum):
    PROXY = "proxy"  # traffic goes to the instance; a stopped one gets a 502 page
    SUSPENDED = "suspended"  # a 503 "suspended" page, the instance is not reached


@dataclasses.dataclass(frozen=True)
class Route:
    domain: str
    port: int
    state: RouteState = RouteState.PROXY


class ProxyUnavailable(ApiError):
    """The reverse proxy cannot be reached or refused a change."""

    status_code = 503

    def __init__(self, proxy: str, detail: str = "") -> None:
        super().__init__(f"The {proxy} proxy is unavailable")
        self.proxy = proxy
        self.detail = detail


class Router(abc.ABC):
    """A reverse proxy holding one route per instance domain.

    Every method is a coroutine and must not block the event loop. Failures to
    reach the proxy raise ``ProxyUnavailable``.
    """

    name: str

    @abc.abstractmethod
    async def set_route(self, route: Route) -> None:
        """Add the route for ``route.domain``, or replace it in place."""

    @abc.abstractmethod
    async def remove_route(self, domain: str) -> None:
        """Remove the route for ``domain``; a route that is not there is fine."""

    @abc.abstractmethod
    async def reconcile(self, routes: Sequence[Route]) -> None:
        """Make the proxy hold exactly ``routes``, leaving others' config alone."""

    @abc.abstractmethod
    async def in_sync(self) -> bool:
        """A cheap check that the proxy still holds what hostmgr gave it."""

    @abc.abstractmethod
    async def diagnose(self) -> list[Finding]:
        """What ``hostmgr doctor`` reports about the proxy."""

    async def close(self) -> None:  # noqa: B027 - optional for routers with no state
        """Release connections."""


def route_for(instance: Instance) -> Route | None:
    """The route an instance should have, or None while it has no port."""
    if instance.port is None:
        return None
    state = RouteState.SUSPENDED if instance.suspended else RouteState.PROXY
    return Route(domain=instance.domain, port=instance.port, state=state)


async def desired_routes() -> list[Route]:
    """Every instance's route, from the database."""
    instances = await Instance.filter(port__isnull=False).order_by("id")
    return [route for route in map(route_for, instances) if route is not None]


def load_router(pm: pluggy.PluginManager, settings: Settings) -> Router | None:
    """The router that ``settings.proxy`` names; None when routing is off."""
    if settings.proxy == "none":
        return None
    router = pm.hook.hostmgr_router(settings=settings, name=settings.proxy)
    if router is None:
        raise ConfigError("proxy", f"no plugin provides the proxy {settings.proxy!r}")
    if not isinstance(router, Router):
        raise TypeError(f"a routing plugin returned {type(router).__name__}")
    return router


class RouteWatcher:
    """Puts every route back when the proxy has lost them.

    A round costs one cheap ``in_sync`` call; a full reconcile runs only when that
    fails, or when a single route change failed since the last round.
    """

    def __init__(self, router: Router, interval: float = WATCH_INTERVAL) -> None:
        self.router = router
        self.stale = True
        self.loop = Periodic("route watcher", interval, self.round)
        # Rounds run one at a time, so an older snapshot of the routes never
        # lands after a newer one from this worker.
        self._lock = asyncio.Lock()

    def mark_stale(self) -> None:
        """Reconcile in full at the next round."""
        self.stale = True

    async def round(self) -> None:
        async with self._lock:
            await self._round()

    async def _round(self) -> None:
        if not self.stale and await self._in_sync():
            return
        try:
            await self.router.reconcile(await desired_routes())
        except ProxyUnavailable as exc:
            self.stale = True
            logger.warning("routes not restored: %s (%s)", exc.message, exc.detail)
            return
        if self.stale:
            logger.info("routes restored on the %s proxy", self.router.name)
        else:
            logger.warning(
                "the %s proxy had lost its routes: restored", self.router.name
            )
        self.stale = False

    async def _in_sync(self) -> bool:
        try:
            return await self.router.in_sync()
        except ProxyUnavailable:
            return False
