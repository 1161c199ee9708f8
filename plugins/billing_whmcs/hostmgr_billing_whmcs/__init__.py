"""Tells WHMCS of what happens in hostmgr, through the outbox (sink ``whmcs``).

Settings, in ``[plugins.billing_whmcs]`` or the environment (which wins):

- ``url`` / ``HOSTMGR_WHMCS_URL``: the WHMCS base URL; calls go to
  ``<url>/includes/api.php``. Unset: the plugin stays idle.
- ``identifier`` / ``HOSTMGR_WHMCS_IDENTIFIER`` and ``secret`` /
  ``HOSTMGR_WHMCS_SECRET``: the API credential; ``access_key`` /
  ``HOSTMGR_WHMCS_ACCESS_KEY`` if WHMCS asks for one. In the file, a secret may
  be named instead of written: ``secret = { env = "WHMCS_API_SECRET" }``.
- ``timeout``, ``poll_interval``, ``retry_min``, ``retry_max`` (seconds) /
  ``HOSTMGR_WHMCS_TIMEOUT`` and so on: how delivery paces itself.
- ``overage_price_per_gb``, ``overage_included_gb``, ``overage_item_description``,
  ``overage_invoice_action``: bill monthly traffic over the allowance, only when
  a price is set.

Every event becomes a ``LogActivity`` line on the client; suspend, unsuspend,
start and terminate also set the service's status, and a domain change its
domain. The credentials are sent to WHMCS and nowhere else: not to a log, not
to the database.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from sanic import Sanic

from hostmgr.config import Settings
from hostmgr.hookspecs import hookimpl
from hostmgr.outbox import attach_sink, detach_sink
from hostmgr_billing_whmcs.config import WhmcsConfig, load_config
from hostmgr_billing_whmcs.overage import OverageBiller, queue_overages
from hostmgr_billing_whmcs.sink import SINK, WhmcsSink

__all__ = ["SINK", "WhmcsConfig", "WhmcsSink", "load_config", "queue_overages"]

logger = logging.getLogger(__name__)


@hookimpl
def hostmgr_register_routes(app: Sanic[Any, Any], settings: Settings) -> None:
    # Read while the app is built, so that a bad setting stops ``serve``
    # before it forks workers.
    app.ctx.billing_whmcs_config = load_config(settings)
    app.ctx.billing_whmcs = app.ctx.billing_whmcs_overage = None


@hookimpl
async def hostmgr_startup(app: Sanic[Any, Any], settings: Settings) -> None:
    config: WhmcsConfig | None = app.ctx.billing_whmcs_config
    if config is None:
        logger.info("billing_whmcs: no WHMCS url set, events are not sent to WHMCS")
        return

    app.ctx.billing_whmcs = attach_sink(app.ctx.pm, WhmcsSink(config), config.delivery)
    if config.overage is not None:
        app.ctx.billing_whmcs_overage = OverageBiller(config.overage)
        app.ctx.billing_whmcs_overage.loop.start()
    logger.info(
        "billing_whmcs: sending events to %s", urlsplit(config.api_url).hostname
    )


@hookimpl
async def hostmgr_shutdown(app: Sanic[Any, Any], settings: Settings) -> None:
    biller: OverageBiller | None = getattr(app.ctx, "billing_whmcs_overage", None)
    if biller is not None:
        await biller.loop.stop()
    await detach_sink(app.ctx.pm, getattr(app.ctx, "billing_whmcs", None))
    app.ctx.billing_whmcs = None
