"""The ``webhook`` outbox sink: each event POSTed as signed JSON.

A 2xx answer is delivered. A connection error, a timeout, a redirect, a 5xx
and any other 4xx are retried, since a receiver that is misconfigured (a wrong
secret, a wrong path) may be put right; only 400, 410, 413 and 422 are
permanent, the receiver having judged the message itself.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from hostmgr.config import Settings
from hostmgr.errors import ConfigError
from hostmgr.events import Event
from hostmgr.models import OutboxMessage
from hostmgr.outbox import Attempt, DeliveryOptions, Envelope
from hostmgr_events_webhook.signature import sign

logger = logging.getLogger(__name__)

SINK = "webhook"
TABLE = "events_webhook"
ENV_PREFIX = "WEBHOOK_"
MIN_SECRET = 16
PERMANENT = frozenset({400, 410, 413, 422})


@dataclasses.dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str = dataclasses.field(repr=False)
    #: Glob patterns of the event names to send, such as ``instance.*``; all
    #: when empty.
    events: tuple[str, ...]
    delivery: DeliveryOptions

    def wants(self, event_name: str) -> bool:
        return not self.events or any(
            fnmatch.fnmatchcase(event_name, pattern) for pattern in self.events
        )


def _option(settings: Settings, key: str) -> Any:
    return settings.option(TABLE, key, ENV_PREFIX + key.upper())


def _events(raw: Any) -> tuple[str, ...]:
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(
        isinstance(i, str) for i in items
    ):
        raise ConfigError(
            "HOSTMGR_WEBHOOK_EVENTS", "expected event names like instance.*"
        )
    return tuple(item.strip() for item in items if item.strip())


def load_config(settings: Settings) -> WebhookConfig | None:
    """The settings, or None when no ``url`` is set (the plugin stays idle)."""
    url = str(_option(settings, "url") or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "HOSTMGR_WEBHOOK_URL", f"expected an http(s) URL, got {url!r}"
        )
    secret = str(_option(settings, "secret") or "").strip()
    if len(secret) < MIN_SECRET:
        raise ConfigError(
            "HOSTMGR_WEBHOOK_SECRET", f"at least {MIN_SECRET} characters are required"
        )
    return WebhookConfig(
        url=url,
        secret=secret,
        events=_events(_option(settings, "events") or []),
        delivery=DeliveryOptions.from_settings(settings, TABLE, ENV_PREFIX),
    )


def body_of(message: OutboxMessage) -> bytes:
    """The JSON body of a delivery: the same bytes on every attempt."""
    document = {
        "id": message.id,
        "event": message.event,
        "subject": message.subject,
        "data": message.payload.get("data", {}),
        "occurred_at": message.payload.get("occurred_at"),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookSink:
    """Sends each message to the configured URL, signed under the secret."""

    name = SINK

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.http = httpx.AsyncClient(
            timeout=config.delivery.timeout, follow_redirects=False
        )

    def messages_for(self, event: Event) -> Sequence[Envelope]:
        if not self.config.wants(event.name):
            return []
        # Through JSON now, so that what is queued is what will be sent.
        data = json.loads(json.dumps(dict(event.data), default=str))
        payload = {"data": data, "occurred_at": event.at.isoformat()}
        return [Envelope(event.name, event.subject, payload)]

    async def close(self) -> None:
        await self.http.aclose()

    async def deliver(self, message: OutboxMessage) -> Attempt:
        body = body_of(message)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "hostmgr-webhook",
            "X-Hostmgr-Event": message.event,
            "X-Hostmgr-Delivery": str(message.id),
            "X-Hostmgr-Timestamp": timestamp,
            "X-Hostmgr-Signature": sign(self.config.secret, timestamp, body),
        }
        action = f"POST {message.event}"
        try:
            response = await self.http.post(
                self.config.url, content=body, headers=headers
            )
        except httpx.TimeoutException:
            error = f"no answer within {self.config.delivery.timeout:g}s"
            return Attempt(ok=False, action=action, error=error)
        except httpx.TransportError as exc:
            error = f"unreachable ({type(exc).__name__})"
            return Attempt(ok=False, action=action, error=error)

        status = response.status_code
        if 200 <= status < 300:
            return Attempt(ok=True, action=action, status=status)
        return Attempt(
            ok=False,
            action=action,
            status=status,
            error=f"HTTP {status}",
            permanent=status in PERMANENT,
        )
