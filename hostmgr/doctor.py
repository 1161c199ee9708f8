"""``hostmgr doctor``: check the config, the database, the engine and the proxy.

Each check gives findings; a finding that is not ok says how to fix it. Nothing
is changed on the way: the doctor only looks.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import stat

import pluggy

from hostmgr import db
from hostmgr.config import SECRET_FILE, Settings
from hostmgr.errors import HostmgrError
from hostmgr.routing import load_router
from hostmgr.runtime import RuntimeFailure, load_runtime


class Level(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked and, unless ok, the fix."""

    level: Level
    subject: str
    text: str
    fix: str = ""


ENGINE_FIXES = {
    "docker": "start the Docker engine (scripts/services.sh docker) or set "
    "HOSTMGR_DOCKER_URL to its socket",
    "podman": "unset HOSTMGR_PODMAN_URL to let hostmgr run its own Podman "
    "service, or start 'podman system service' on that socket",
}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_config(settings: Settings) -> list[Finding]:
    findings = [Finding(Level.OK, "config", "every setting is valid")]
    if not settings.public_url.startswith("https://") and not _is_loopback(
        settings.host
    ):
        findings.append(
            Finding(
                Level.WARN,
                "config",
                f"the panel listens on {settings.host} over plain HTTP",
                "serve it over HTTPS: set HOSTMGR_PANEL_DOMAIN with the Caddy "
                "proxy and HOSTMGR_PUBLIC_URL=https://<that domain>",
            )
        )
    if settings.proxy == "none":
        findings.append(
            Finding(
                Level.WARN,
                "config",
                "no proxy: instances answer on 127.0.0.1 ports only",
                "set HOSTMGR_PROXY=caddy to give every instance its own domain",
            )
        )
    elif settings.base_domain == "localhost" or settings.base_domain.endswith(
        ".localhost"
    ):
        findings.append(
            Finding(
                Level.WARN,
                "config",
                f"instances live under {settings.base_domain}, which no one else "
                "can resolve",
                "set HOSTMGR_BASE_DOMAIN to a domain with a wildcard DNS record "
                "pointing at this server",
            )
        )
    secret = settings.data_dir / SECRET_FILE
    if secret.exists() and secret.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        findings.append(
            Finding(
                Level.FAIL,
                "config",
                f"{secret} can be read by other users",
                f"chmod 600 {secret}",
            )
        )
    return findings


async def check_database(settings: Settings) -> list[Finding]:
    try:
        await db.connect(settings.database_url)
    except (OSError, HostmgrError) as exc:
        return [
            Finding(
                Level.FAIL,
                "database",
                f"cannot connect: {exc}",
                "check HOSTMGR_DATABASE_URL and that the server is running",
            )
        ]
    try:
        await db.check_schema()
    except HostmgrError as exc:
        return [Finding(Level.FAIL, "database", str(exc), "run 'hostmgr init'")]
    finally:
        await db.close()
    kind = "SQLite" if settings.is_sqlite else "PostgreSQL"
    return [Finding(Level.OK, "database", f"{kind} answers; the schema is current")]


async def check_engine(pm: pluggy.PluginManager, settings: Settings) -> list[Finding]:
    runtime = load_runtime(pm, settings)
    if runtime is None:
        return [
            Finding(
                Level.FAIL,
                "engine",
                f"no runtime plugin provides {settings.runtime}",
                f"install it: pip install -e plugins/runtime_{settings.runtime}",
            )
        ]
    try:
        await runtime.ping()
    except RuntimeFailure as exc:
        return [
            Finding(
                Level.FAIL,
                "engine",
                exc.message,
                ENGINE_FIXES.get(settings.runtime, "start the engine"),
            )
        ]
    finally:
        await runtime.close()
    return [Finding(Level.OK, "engine", f"the {settings.runtime} engine answers")]


async def check_proxy(pm: pluggy.PluginManager, settings: Settings) -> list[Finding]:
    if settings.proxy == "none":
        return []
    try:
        router = load_router(pm, settings)
    except HostmgrError as exc:
        return [Finding(Level.FAIL, "proxy", str(exc), "fix the setting it names")]
    if router is None:
        return []
    try:
        return await router.diagnose()
    finally:
        await router.close()


async def examine(pm: pluggy.PluginManager, settings: Settings) -> list[Finding]:
    """Every finding, config first."""
    return [
        *check_config(settings),
        *await check_database(settings),
        *await check_engine(pm, settings),
        *await check_proxy(pm, settings),
    ]
