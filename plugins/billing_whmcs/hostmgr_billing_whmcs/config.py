"""The plugin's settings, from ``[plugins.billing_whmcs]`` or the environment."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from hostmgr.config import Settings
from hostmgr.errors import ConfigError
from hostmgr.outbox import DeliveryOptions

TABLE = "billing_whmcs"
ENV_PREFIX = "WHMCS_"
INVOICE_ACTIONS = ("nextcron", "nextinvoice", "noinvoice")
DEFAULT_DESCRIPTION = "n8n traffic over {included_gb:g} GB for {name}, {period}"


@dataclasses.dataclass(frozen=True)
class Overage:
    """Traffic billed per GB past what every instance may use in a month."""

    price_per_gb: float
    included_gb: float
    description: str
    invoice_action: str

    def describe(self, name: str, domain: str, period: str) -> str:
        return self.description.format(
            name=name, domain=domain, period=period, included_gb=self.included_gb
        )


@dataclasses.dataclass(frozen=True)
class WhmcsConfig:
    """Where WHMCS's API is and how to sign in to it."""

    api_url: str
    identifier: str = dataclasses.field(repr=False)
    secret: str = dataclasses.field(repr=False)
    access_key: str | None = dataclasses.field(repr=False)
    delivery: DeliveryOptions
    overage: Overage | None

    @property
    def credentials(self) -> tuple[str, ...]:
        """Every value that must never reach a log or the database."""
        return tuple(v for v in (self.identifier, self.secret, self.access_key) if v)


def _env_name(key: str) -> str:
    return f"HOSTMGR_{ENV_PREFIX}{key.upper()}"


def _text(settings: Settings, key: str) -> str | None:
    raw = settings.option(TABLE, key, ENV_PREFIX + key.upper())
    if raw is None or not str(raw).strip():
        return None
    return str(raw).strip()


def _number(settings: Settings, key: str, default: float | None) -> float | None:
    raw = _text(settings, key)
    if raw is None:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise ConfigError(_env_name(key), f"expected a number, got {raw!r}") from None
    if number < 0:
        raise ConfigError(_env_name(key), f"must not be negative, got {raw!r}")
    return number


def _api_url(value: str) -> str:
    """``<url>/includes/api.php``; plain HTTP only to this machine."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(_env_name("url"), f"expected an http(s) URL, got {value!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # The API secret travels in every request body.
        raise ConfigError(
            _env_name("url"), "must be https:// unless WHMCS runs on this machine"
        )
    return value.rstrip("/") + "/includes/api.php"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _overage(settings: Settings) -> Overage | None:
    price = _number(settings, "overage_price_per_gb", None)
    if price is None:
        return None
    action = (_text(settings, "overage_invoice_action") or "nextinvoice").lower()
    if action not in INVOICE_ACTIONS:
        raise ConfigError(
            _env_name("overage_invoice_action"),
            f"must be one of {', '.join(INVOICE_ACTIONS)}, got {action!r}",
        )
    overage = Overage(
        price_per_gb=price,
        included_gb=_number(settings, "overage_included_gb", 0.0) or 0.0,
        description=_text(settings, "overage_item_description") or DEFAULT_DESCRIPTION,
        invoice_action=action,
    )
    try:
        overage.describe("name", "name.example.com", "2025-01")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            _env_name("overage_item_description"),
            f"unknown placeholder {exc}; use {{name}}, {{domain}}, {{period}}, "
            "{included_gb}",
        ) from None
    return overage


def load_config(settings: Settings) -> WhmcsConfig | None:
    """The settings, or None when no ``url`` is set (the plugin stays idle)."""
    url = _text(settings, "url")
    if url is None:
        return None

    credentials: dict[str, Any] = {}
    for key in ("identifier", "secret"):
        credentials[key] = _text(settings, key)
        if credentials[key] is None:
            raise ConfigError(_env_name(key), "is required when a WHMCS url is set")
    return WhmcsConfig(
        api_url=_api_url(url),
        access_key=_text(settings, "access_key"),
        delivery=DeliveryOptions.from_settings(settings, TABLE, ENV_PREFIX),
        overage=_overage(settings),
        **credentials,
    )
