"""Routing through Caddy, driven by its admin API with JSON config.

Settings, in ``[plugins.proxy_caddy]`` or the environment (which wins):

- ``admin_url`` / ``HOSTMGR_CADDY_ADMIN_URL``: Caddy's admin API, default
  ``http://127.0.0.1:2019``.
- ``http_listen`` / ``HOSTMGR_CADDY_HTTP_LISTEN``: where plain HTTP is served,
  default ``:80``. With TLS off, instance traffic; with TLS on, the redirects
  to HTTPS and the ACME HTTP challenge.
- ``https_listen`` / ``HOSTMGR_CADDY_HTTPS_LISTEN``: where HTTPS is served with
  TLS on, default ``:443``.
- ``tls`` / ``HOSTMGR_TLS``: ``auto`` (a certificate per domain from ACME) or
  ``off`` (plain HTTP, for tests and for a TLS terminator in front).
- ``acme_email`` / ``HOSTMGR_ACME_EMAIL``: the ACME account's contact.
- ``acme_ca`` / ``HOSTMGR_ACME_CA``: an ACME directory URL, for example Let's
  Encrypt's staging one; default Caddy's own choice.
- ``panel_domain`` / ``HOSTMGR_PANEL_DOMAIN``: serve the panel itself at this
  domain through the same Caddy.

hostmgr owns one HTTP server in Caddy's config, ``apps.http.servers.hostmgr``,
and with TLS on one automation policy per domain; every object it writes has an
``@id`` starting ``hostmgr``. It changes one route at a time by id, so other
sites in the same Caddy are left alone and nothing is dropped: Caddy applies
each change with a graceful reload.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from hostmgr.config import Settings
from hostmgr.doctor import Finding, Level
from hostmgr.errors import ConfigError
from hostmgr.hookspecs import hookimpl
from hostmgr.routing import ProxyUnavailable, Route, Router, RouteState
from hostmgr_proxy_caddy import pages

logger = logging.getLogger(__name__)

TABLE = "proxy_caddy"
SERVER_ID = "hostmgr"
ADMIN_TIMEOUT = 5.0
# n8n holds websockets and server-sent events open; a dial to a stopped
# instance fails fast instead.
DIAL_TIMEOUT = "3s"


def _listen(key: str, value: str) -> str:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(key, f"expected [host]:port like :80, got {value!r}")
    if host:
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise ConfigError(key, f"expected an IP address, got {host!r}") from None
    return value


def _port(listen: str) -> int:
    return int(listen.rpartition(":")[2])


def _url(key: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(key, f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _tls(key: str, value: str) -> str:
    if value.lower() not in ("auto", "off"):
        raise ConfigError(key, f"must be auto or off, got {value!r}")
    return value.lower()


def _email(key: str, value: str) -> str:
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in value):
        raise ConfigError(key, f"not an email address: {value!r}")
    return value


def _domain(key: str, value: str) -> str:
    labels = value.lower().rstrip(".").split(".")
    if len(labels) < 2 or not all(
        label and len(label) < 64 and label.replace("-", "").isalnum()
        for label in labels
    ):
        raise ConfigError(key, f"not a DNS name: {value!r}")
    return ".".join(labels)


# key, environment name, default, parser
_OPTIONS: tuple[tuple[str, str, str | None, Callable[[str, str], str]], ...] = (
    ("admin_url", "CADDY_ADMIN_URL", "http://127.0.0.1:2019", _url),
    ("http_listen", "CADDY_HTTP_LISTEN", ":80", _listen),
    ("https_listen", "CADDY_HTTPS_LISTEN", ":443", _listen),
    ("tls", "TLS", "auto", _tls),
    ("acme_email", "ACME_EMAIL", None, _email),
    ("acme_ca", "ACME_CA", None, _url),
    ("panel_domain", "PANEL_DOMAIN", None, _domain),
)


@dataclasses.dataclass(frozen=True)
class CaddySettings:
    admin_url: str
    http_listen: str
    https_listen: str
    tls: str
    acme_email: str | None
    acme_ca: str | None
    panel_domain: str | None
    panel_upstream: str

    @classmethod
    def from_settings(cls, settings: Settings) -> CaddySettings:
        values: dict[str, Any] = {}
        for key, env, default, parse in _OPTIONS:
            raw = settings.option(TABLE, key, env)
            if raw is None or str(raw).strip() == "":
                values[key] = default
            else:
                values[key] = parse(f"HOSTMGR_{env}", str(raw).strip())
        # The panel listens on loopback or on every address; Caddy reaches it
        # on loopback either way.
        host = settings.host
        if host in ("0.0.0.0", "::", "localhost"):  # noqa: S104 - a comparison
            host = "127.0.0.1"
        upstream = f"[{host}]" if ":" in host else host
        return cls(**values, panel_upstream=f"{upstream}:{settings.port}")

    @property
    def https(self) -> bool:
        return self.tls == "auto"


def route_id(domain: str) -> str:
    return f"hostmgr-route-{domain}"


def policy_id(domain: str) -> str:
    return f"hostmgr-tls-{domain}"


def _html(status: int | str, body: str) -> dict[str, Any]:
    return {
        "handler": "static_response",
        "status_code": status,
        "headers": {
            "Content-Type": ["text/html; charset=utf-8"],
            "Cache-Control": ["no-store"],
        },
        "body": body,
    }


def _proxy(upstream: str) -> dict[str, Any]:
    # Websockets need nothing more: Caddy passes upgrades through. No response
    # or idle timeout applies to a proxied stream once it is established.
    return {
        "handler": "reverse_proxy",
        "upstreams": [{"dial": upstream}],
        "flush_interval": -1,
        "transport": {"protocol": "http", "dial_timeout": DIAL_TIMEOUT},
    }


def _host_route(ident: str, domain: str, handler: dict[str, Any]) -> dict[str, Any]:
    return {
        "@id": ident,
        "match": [{"host": [domain]}],
        "handle": [handler],
        "terminal": True,
    }


def route_config(route: Route) -> dict[str, Any]:
    if route.state is RouteState.SUSPENDED:
        handler = _html(503, pages.suspended(route.domain))
    else:
        handler = _proxy(f"127.0.0.1:{route.port}")
    return _host_route(route_id(route.domain), route.domain, handler)


def _error_route(statuses: tuple[int, ...], body: str) -> dict[str, Any]:
    expression = " || ".join(f"{{http.error.status_code}} == {s}" for s in statuses)
    return {
        "match": [{"expression": expression}],
        "handle": [_html("{http.error.status_code}", body)],
    }


class CaddyRouter(Router):
    name = "caddy"

    def __init__(self, options: CaddySettings) -> None:
        self.options = options
        self.client = httpx.AsyncClient(
            base_url=options.admin_url, timeout=ADMIN_TIMEOUT
        )

    # --- Caddy's config, as hostmgr wants it ---

    def server_config(self, routes: Sequence[Route]) -> dict[str, Any]:
        """The whole ``hostmgr`` server: a route per domain, then a 404 page."""
        handled = [route_config(route) for route in routes]
        if self.options.panel_domain:
            handled.append(
                _host_route(
                    "hostmgr-panel",
                    self.options.panel_domain,
                    _proxy(self.options.panel_upstream),
                )
            )
        handled.append({"handle": [_html(404, pages.NOT_FOUND)]})
        server: dict[str, Any] = {
            "@id": SERVER_ID,
            "routes": handled,
            "errors": {
                "routes": [
                    _error_route((502,), pages.NOT_RUNNING),
                    _error_route((503, 504), pages.UNAVAILABLE),
                ]
            },
        }
        if self.options.https:
            server["listen"] = [self.options.https_listen]
        else:
            server["listen"] = [self.options.http_listen]
            server["automatic_https"] = {"disable": True}
        return server

    def policy_config(self, domain: str) -> dict[str, Any]:
        """The ACME policy for one domain's certificate."""
        issuer: dict[str, Any] = {"module": "acme"}
        if self.options.acme_email:
            issuer["email"] = self.options.acme_email
        if self.options.acme_ca:
            issuer["ca"] = self.options.acme_ca
        return {"@id": policy_id(domain), "subjects": [domain], "issuers": [issuer]}

    # --- the admin API ---

    async def _call(
        self, method: str, path: str, body: Any = None, *, missing_ok: bool = False
    ) -> httpx.Response | None:
        """One admin API request. None when the object is not there and that is
        fine; ``ProxyUnavailable`` on any other failure."""
        try:
            response = await self.client.request(
                method, path, json=body if body is not None else None
            )
        except httpx.HTTPError as exc:
            raise ProxyUnavailable(
                self.name, f"{method} {path}: {type(exc).__name__}: {exc}"
            ) from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.is_error:
            detail = response.text[:500].strip()
            logger.warning("caddy refused %s %s: %s", method, path, detail)
            raise ProxyUnavailable(self.name, f"{method} {path}: {detail}")
        return response

    async def set_route(self, route: Route) -> None:
        config = route_config(route)
        replaced = await self._call(
            "PATCH", f"/id/{config['@id']}", config, missing_ok=True
        )
        if replaced is None:
            # New routes go first: the 404 catch-all must stay last.
            await self._call("PUT", f"/id/{SERVER_ID}/routes/0", config)
        if self.options.https:
            await self._set_policy(route.domain)
        logger.info("caddy: route %s -> %s (%s)", route.domain, route.port, route.state)

    async def _set_policy(self, domain: str) -> None:
        policy = self.policy_config(domain)
        replaced = await self._call(
            "PATCH", f"/id/{policy['@id']}", policy, missing_ok=True
        )
        if replaced is None:
            await self._call("POST", "/config/apps/tls/automation/policies", policy)

    async def remove_route(self, domain: str) -> None:
        await self._call("DELETE", f"/id/{route_id(domain)}", missing_ok=True)
        await self._call("DELETE", f"/id/{policy_id(domain)}", missing_ok=True)
        logger.info("caddy: removed route %s", domain)

    async def in_sync(self) -> bool:
        return await self._call("GET", f"/id/{SERVER_ID}", missing_ok=True) is not None

    async def reconcile(self, routes: Sequence[Route]) -> None:
        response = await self._call("GET", "/config/")
        config = (response.json() if response is not None else None) or {}
        await self._write(
            config, ["apps", "http", "servers", SERVER_ID], self.server_config(routes)
        )
        if self.options.https:
            await self._write(
                config, ["apps", "http", "http_port"], _port(self.options.http_listen)
            )
            await self._write(
                config, ["apps", "http", "https_port"], _port(self.options.https_listen)
            )
        policies = [
            policy
            for policy in _dig(config, ["apps", "tls", "automation", "policies"]) or []
            if not str(policy.get("@id", "")).startswith("hostmgr-tls-")
        ]
        if self.options.https:
            policies = [self.policy_config(route.domain) for route in routes] + policies
            if self.options.panel_domain:
                policies.insert(0, self.policy_config(self.options.panel_domain))
        if policies or _dig(config, ["apps", "tls", "automation", "policies"]):
            await self._write(
                config, ["apps", "tls", "automation", "policies"], policies
            )
        logger.info("caddy: %d routes in place", len(routes))

    async def _write(self, config: dict[str, Any], path: list[str], value: Any) -> None:
        """Set ``value`` at ``path``, creating the parents that ``config`` lacks.

        Caddy's admin API cannot traverse a missing key, so the write goes to the
        deepest existing parent, with the rest of the path wrapped around it.
        """
        depth = 0
        node: Any = config
        while depth < len(path) - 1 and isinstance(node, dict) and path[depth] in node:
            node = node[path[depth]]
            depth += 1
        body = value
        for key in reversed(path[depth + 1 :]):
            body = {key: body}
        await self._call("POST", "/config/" + "/".join(path[: depth + 1]), body)
        # Keep the local copy true for the next write of this reconcile.
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    async def diagnose(self) -> list[Finding]:
        try:
            response = await self._call("GET", "/config/")
        except ProxyUnavailable as exc:
            return [
                Finding(
                    Level.FAIL,
                    "proxy",
                    f"cannot reach Caddy's admin API at {self.options.admin_url}: "
                    f"{exc.detail}",
                    "start Caddy (scripts/services.sh caddy, or systemctl start "
                    "caddy), or set HOSTMGR_CADDY_ADMIN_URL to its admin address",
                )
            ]
        config = (response.json() if response is not None else None) or {}
        findings = [
            Finding(
                Level.OK,
                "proxy",
                f"Caddy's admin API answers at {self.options.admin_url}",
            )
        ]
        server = _dig(config, ["apps", "http", "servers", SERVER_ID])
        if server is None:
            findings.append(
                Finding(
                    Level.FAIL,
                    "proxy",
                    "Caddy holds no hostmgr routes",
                    "start the panel (hostmgr serve): it restores every route "
                    "within seconds",
                )
            )
        else:
            count = sum(
                1
                for route in server.get("routes", [])
                if str(route.get("@id", "")).startswith("hostmgr-route-")
            )
            findings.append(
                Finding(
                    Level.OK,
                    "proxy",
                    f"Caddy serves {count} instance routes on "
                    + ", ".join(server.get("listen", [])),
                )
            )
        if self.options.https and not self.options.acme_email:
            findings.append(
                Finding(
                    Level.WARN,
                    "proxy",
                    "TLS is auto but no ACME contact is set",
                    "set HOSTMGR_ACME_EMAIL so the CA can warn you about expiring "
                    "certificates",
                )
            )
        return findings

    async def close(self) -> None:
        await self.client.aclose()


def _dig(config: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(config, dict) or key not in config:
            return None
        config = config[key]
    return config


@hookimpl
def hostmgr_router(settings: Settings, name: str) -> Router | None:
    if name != "caddy":
        return None
    return CaddyRouter(CaddySettings.from_settings(settings))
