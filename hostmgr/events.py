"""Lifecycle and usage events, broadcast to every ``hostmgr_event`` subscriber."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pluggy

from hostmgr.plugins import call_hook

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Event:
    """``name`` is dotted, for example ``user.created``; ``data`` holds no secrets."""

    name: str
    subject: str
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    at: datetime = dataclasses.field(default_factory=lambda: datetime.now(UTC))


async def emit(pm: pluggy.PluginManager, event: Event) -> None:
    """Deliver ``event`` to every subscriber; a failing subscriber is logged only."""
    for plugin, outcome in await call_hook(pm, "hostmgr_event", event=event):
        if isinstance(outcome, BaseException):
            logger.error(
                "event %s: subscriber %s failed: %r", event.name, plugin, outcome
            )
