"""Every hostmgr event as a signed JSON webhook, through the outbox (sink ``webhook``).

Settings, in ``[plugins.events_webhook]`` or the environment (which wins):

- ``url`` / ``HOSTMGR_WEBHOOK_URL``: where to POST. Unset: the plugin stays idle.
- ``secret`` / ``HOSTMGR_WEBHOOK_SECRET``: the HMAC key, at least 16 characters;
  in the file it may be named instead of written, ``secret = { env = "NAME" }``.
- ``events`` / ``HOSTMGR_WEBHOOK_EVENTS``: only these event names, as a list or
  comma-separated, with ``*`` patterns (``instance.*``); default every event.
- ``timeout``, ``poll_interval``, ``retry_min``, ``retry_max`` (seconds).

Receivers check deliveries with ``verify_signature`` (see ``signature``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from sanic import Sanic

from hostmgr.config import Settings
from hostmgr.hookspecs import hookimpl
from hostmgr.outbox import attach_sink, detach_sink
from hostmgr_events_webhook.signature import sign, verify_signature
from hostmgr_events_webhook.sink import SINK, WebhookConfig, WebhookSink, load_config

__all__ = [
    "SINK",
    "WebhookConfig",
    "WebhookSink",
    "load_config",
    "sign",
    "verify_signature",
]

logger = logging.getLogger(__name__)


@hookimpl
def hostmgr_register_routes(app: Sanic[Any, Any], settings: Settings) -> None:
    # Read while the app is built, so that a bad setting stops ``serve``
    # before it forks workers.
    app.ctx.events_webhook_config = load_config(settings)
    app.ctx.events_webhook = None


@hookimpl
async def hostmgr_startup(app: Sanic[Any, Any], settings: Settings) -> None:
    config: WebhookConfig | None = app.ctx.events_webhook_config
    if config is None:
        logger.info("events_webhook: no webhook url set, events are not posted")
        return

    app.ctx.events_webhook = attach_sink(
        app.ctx.pm, WebhookSink(config), config.delivery
    )
    logger.info("events_webhook: posting events to %s", urlsplit(config.url).hostname)


@hookimpl
async def hostmgr_shutdown(app: Sanic[Any, Any], settings: Settings) -> None:
    await detach_sink(app.ctx.pm, getattr(app.ctx, "events_webhook", None))
    app.ctx.events_webhook = None
