"""Settings: a TOML file first, then ``HOSTMGR_*`` environment variables.

Every key of the top-level table can be overridden by the environment variable of
the same name in upper case with the ``HOSTMGR_`` prefix, so secrets never have to
be written in the file. Plugins read their own ``[plugins.<name>]`` table.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import secrets
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hostmgr.errors import ConfigError

ENV_PREFIX = "HOSTMGR_"
SECRET_FILE = "secret.key"  # noqa: S105 - a file name
RUNTIMES = ("docker", "podman")


def _default_data_dir() -> str:
    if os.geteuid() == 0:
        return "/var/lib/hostmgr"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "hostmgr")


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str
    port: int
    base_domain: str
    public_url: str
    runtime: str
    image: str
    rate_limit: int
    rate_limit_storage: str
    secret_key: str = dataclasses.field(repr=False)
    sso_ttl: int
    session_ttl: int
    max_body_bytes: int
    proxies_count: int
    log_level: str
    instance_ports: tuple[int, int]
    timezone: str
    proxy: str
    route_check_interval: int
    usage_interval: int
    plugins: Mapping[str, Mapping[str, Any]]
    # The HOSTMGR_* variables that are not core keys: plugins read theirs
    # through ``option``. Kept out of repr, as some are secrets.
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def plugin_settings(self, name: str) -> Mapping[str, Any]:
        """Return the ``[plugins.<name>]`` table, empty when absent."""
        return self.plugins.get(name, {})

    def option(self, table: str, key: str, env: str) -> Any:
        """A plugin's setting: ``HOSTMGR_<env>`` first, then ``[plugins.<table>]``.

        None when neither is set.
        """
        value = self.environ.get(ENV_PREFIX + env)
        return value if value is not None else self.plugin_settings(table).get(key)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")


def _parse_int(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(key: str, value: Any) -> int:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected an integer, got {value!r}") from None
        if not low <= number <= high:
            raise ConfigError(key, f"must be between {low} and {high}, got {number}")
        return number

    return parse


def _parse_str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _parse_url(schemes: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        url = _parse_str(key, value)
        scheme = urlsplit(url).scheme
        if scheme not in schemes:
            allowed = ", ".join(schemes)
            raise ConfigError(key, f"scheme must be one of {allowed}, got {url!r}")
        return url.rstrip("/") if scheme in ("http", "https") else url

    return parse


def _parse_choice(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        text = _parse_str(key, value).lower()
        if text not in choices:
            raise ConfigError(key, f"must be one of {', '.join(choices)}, got {text!r}")
        return text

    return parse


_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*"
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


def _parse_domain(key: str, value: Any) -> str:
    domain = _parse_str(key, value).lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise ConfigError(key, f"not a valid DNS name: {domain!r}")
    return domain


def _parse_host(key: str, value: Any) -> str:
    host = _parse_str(key, value)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _parse_domain(key, host)
    return host


def _parse_port_range(key: str, value: Any) -> tuple[int, int]:
    text = _parse_str(key, value)
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high)
    except ValueError:
        raise ConfigError(
            key, f"expected a range like 20000-29999, got {text!r}"
        ) from None
    if not 1024 <= first < last <= 65535:
        raise ConfigError(key, f"must be a range within 1024-65535, got {text!r}")
    return first, last


def _parse_timezone(key: str, value: Any) -> str:
    import zoneinfo

    name = _parse_str(key, value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(key, f"unknown time zone {name!r}") from None
    return name


def _parse_plugin_name(key: str, value: Any) -> str:
    """A plugin's name: checked against the installed plugins at start-up."""
    name = _parse_str(key, value).lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ConfigError(key, f"expected a plugin name like caddy, got {name!r}")
    return name


def _parse_secret(key: str, value: Any) -> str:
    secret = _parse_str(key, value)
    if len(secret) < 32:
        raise ConfigError(key, "must be at least 32 characters")
    return secret


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "data_dir": _parse_str,
    "database_url": _parse_url(("sqlite", "postgres", "postgresql", "asyncpg")),
    "host": _parse_host,
    "port": _parse_int(1, 65535),
    "base_domain": _parse_domain,
    "public_url": _parse_url(("http", "https")),
    "runtime": _parse_choice(RUNTIMES),
    "image": _parse_str,
    "rate_limit": _parse_int(1, 1_000_000),
    "rate_limit_storage": _parse_url(("memory", "redis", "rediss")),
    "secret_key": _parse_secret,
    "sso_ttl": _parse_int(10, 3600),
    "session_ttl": _parse_int(60, 30 * 24 * 3600),
    "max_body_bytes": _parse_int(1024, 100 * 1024 * 1024),
    "proxies_count": _parse_int(0, 10),
    "log_level": _parse_choice(("debug", "info", "warning", "error")),
    "instance_ports": _parse_port_range,
    "timezone": _parse_timezone,
    "proxy": _parse_plugin_name,
    "route_check_interval": _parse_int(1, 3600),
    "usage_interval": _parse_int(5, 3600),
}

_DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 8448,
    "base_domain": "localhost",
    "runtime": "docker",
    "image": "docker.n8n.io/n8nio/n8n",
    "rate_limit": 60,
    "rate_limit_storage": "memory://",
    "sso_ttl": 300,
    "session_ttl": 8 * 3600,
    "max_body_bytes": 64 * 1024,
    "proxies_count": 0,
    "log_level": "info",
    "instance_ports": "20000-29999",
    "timezone": "UTC",
    "proxy": "none",
    "route_check_interval": 5,
    "usage_interval": 60,
}


def config_keys() -> tuple[str, ...]:
    """Every top-level key that the file or the environment may set."""
    return tuple(_PARSERS)


def _resolve_env_references(
    plugin: str, table: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, Any]:
    """``key = { env = "NAME" }`` in a plugin's table reads the variable NAME.

    So a secret can be named in the file instead of written there.
    """
    resolved = dict(table)
    for key, value in table.items():
        if isinstance(value, dict) and set(value) == {"env"}:
            name = value["env"]
            if not isinstance(name, str) or not env.get(name, "").strip():
                raise ConfigError(
                    f"plugins.{plugin}.{key}", f"environment variable {name} is not set"
                )
            resolved[key] = env[name].strip()
    return resolved


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("config", f"file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{path} is not valid TOML: {exc}") from None


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the file (if any), apply environment overrides and validate every key.

    The server secret is read from, or generated into, ``<data_dir>/secret.key``
    unless ``secret_key`` is given.
    """
    env = os.environ if environ is None else environ
    path = path or env.get(ENV_PREFIX + "CONFIG")
    raw = _read_file(Path(path)) if path else {}

    plugins = raw.pop("plugins", {})
    if not isinstance(plugins, dict) or not all(
        isinstance(table, dict) for table in plugins.values()
    ):
        raise ConfigError("plugins", "must be a table of tables, one per plugin")
    plugins = {
        name: _resolve_env_references(name, table, env)
        for name, table in plugins.items()
    }
    unknown = sorted(set(raw) - set(_PARSERS))
    if unknown:
        raise ConfigError(unknown[0], "unknown key")

    values: dict[str, Any] = {**_DEFAULTS, **raw}
    for key in _PARSERS:
        env_value = env.get(ENV_PREFIX + key.upper())
        if env_value is not None:
            values[key] = env_value
    parsed = {key: _PARSERS[key](key, values[key]) for key in values}

    data_dir = Path(parsed.get("data_dir") or _default_data_dir()).expanduser()
    parsed["data_dir"] = data_dir.resolve()
    parsed.setdefault(
        "database_url", f"sqlite://{parsed['data_dir'] / 'hostmgr.sqlite3'}"
    )
    parsed.setdefault("public_url", f"http://{parsed['host']}:{parsed['port']}")
    if "secret_key" not in parsed:
        parsed["secret_key"] = _read_or_create_secret(parsed["data_dir"])
    extra_env = {
        name: value
        for name, value in env.items()
        if name.startswith(ENV_PREFIX)
        and name[len(ENV_PREFIX) :].lower() not in _PARSERS
    }
    return Settings(**parsed, plugins=plugins, environ=extra_env)


def _read_or_create_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < 32:
            raise ConfigError(
                "secret_key", f"{path} holds a secret that is too short"
            ) from None
        return secret
    except OSError as exc:
        raise ConfigError("data_dir", f"cannot write {path}: {exc.strerror}") from None
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret
