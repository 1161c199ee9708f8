"""The outbox: events kept in the database until each sink's receiver takes them.

A sink is somewhere events go, such as a billing system or a webhook. Its
subscriber turns each event into messages (``Envelope``) and queues them in the
request that raised the event, so they are on disk before the response. Then a
deliverer per sink, in every worker, sends them:

- oldest first: a message that fails holds back the ones after it, and is
  retried with capped exponential backoff until it goes through, so a later
  message never overtakes an earlier one;
- marked delivered only once the receiver has accepted it, and every attempt
  goes into the delivery log;
- by one worker at a time, the one holding the sink's lease;
- a message the receiver refuses for good (``Attempt.permanent``) is marked
  failed, and the ones after it go on.

Undelivered messages outlive a restart, and a deliverer's first round ignores
the backoff, so what waited is sent as soon as a worker starts. A worker that
stops gives the lease up at once; one that dies holds it until it runs out.

Exactly once holds as long as the receiver's answer reaches us. If the process
dies, or the connection drops, after the receiver took a message and before it
is marked, the message is sent again: receivers that must never act twice drop
repeats by message id. The queue write is its own, after the action's: a crash
between the two, or a database error on the write (logged), loses the event;
queuing inside the action's transaction would lift that.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pluggy
from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from hostmgr.config import Settings
from hostmgr.errors import ConfigError
from hostmgr.events import Event
from hostmgr.hookspecs import hookimpl
from hostmgr.leases import release_lease, take_lease
from hostmgr.models import DeliveryAttempt, OutboxMessage
from hostmgr.periodic import Periodic

logger = logging.getLogger(__name__)

# Renewed before every message, and longer than an attempt may take: sinks make
# at most five calls per message, each within MAX_TIMEOUT.
LEASE = timedelta(seconds=120)
# Messages per round at most, so that a stop never waits on a long backlog.
BATCH = 100
# Up to this share of a retry delay is taken off at random, so that workers
# and sinks do not retry in step.
JITTER = 0.2
MAX_TIMEOUT = 20.0


@dataclasses.dataclass(frozen=True)
class Envelope:
    """A message for a sink to queue; with a ``key``, at most once per sink."""

    event: str
    subject: str
    payload: Mapping[str, Any]
    key: str | None = None


@dataclasses.dataclass(frozen=True)
class Attempt:
    """How one delivery attempt ended; ``action`` and ``error`` hold no secrets.

    A failure is retried unless ``permanent``.
    """

    ok: bool
    action: str = ""
    status: int | None = None
    error: str | None = None
    permanent: bool = False


class Sink(Protocol):
    """Where a plugin's messages go. ``name`` is the outbox's sink name."""

    name: str

    def messages_for(self, event: Event) -> Sequence[Envelope]:
        """What to queue for ``event``: nothing, one message or several."""

    async def deliver(self, message: OutboxMessage) -> Attempt:
        """Send one message; catch your own errors and say how it went."""

    async def close(self) -> None:
        """Let go of connections; called once the deliverer has stopped."""


def _seconds(key: str, value: Any, low: float, high: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"expected a number of seconds, got {value!r}") from None
    if not low <= seconds <= high:
        raise ConfigError(key, f"must be between {low:g} and {high:g}, got {value!r}")
    return seconds


@dataclasses.dataclass(frozen=True)
class DeliveryOptions:
    """How a sink's deliverer paces itself; every value is in seconds."""

    timeout: float = 10.0
    poll_interval: float = 2.0
    retry_min: float = 5.0
    retry_max: float = 600.0

    @classmethod
    def from_settings(
        cls, settings: Settings, table: str, env_prefix: str
    ) -> DeliveryOptions:
        """Read ``timeout``, ``poll_interval``, ``retry_min`` and ``retry_max``.

        Each from ``HOSTMGR_<env_prefix><KEY>`` or ``[plugins.<table>]``.
        """
        bounds = {
            "timeout": (0.1, MAX_TIMEOUT),
            "poll_interval": (0.01, 3600.0),
            "retry_min": (0.01, 86400.0),
            "retry_max": (0.01, 86400.0),
        }
        values: dict[str, float] = {}
        for key, (low, high) in bounds.items():
            env = env_prefix + key.upper()
            raw = settings.option(table, key, env)
            if raw is not None and str(raw).strip():
                values[key] = _seconds(f"HOSTMGR_{env}", raw, low, high)
        options = cls(**values)
        if options.retry_max < options.retry_min:
            raise ConfigError(f"HOSTMGR_{env_prefix}RETRY_MAX", "is below retry_min")
        return options


def backoff(
    attempts: int, first: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after the ``attempts``-th failure in a row.

    Doubles from ``first`` up to ``cap``, less up to ``JITTER`` of it at random.
    """
    delay = min(cap, first * 2.0 ** min(attempts - 1, 40))
    return delay * (1 - JITTER * rand())


def pending(sink: str) -> QuerySet[OutboxMessage]:
    """The sink's messages not yet delivered nor failed, oldest first."""
    return OutboxMessage.filter(sink=sink, delivered_at=None, failed_at=None).order_by(
        "id"
    )


def state_of(message: OutboxMessage) -> str:
    if message.delivered_at is not None:
        return "delivered"
    return "failed" if message.failed_at is not None else "pending"


async def enqueue(sink: str, envelopes: Sequence[Envelope]) -> list[OutboxMessage]:
    """Queue ``envelopes`` for ``sink``, in order and all or none.

    An envelope whose ``key`` the sink has queued before is left out.
    """
    try:
        return await _enqueue(sink, envelopes)
    except IntegrityError:
        # Another worker queued one of the keys at the same moment: this
        # time the key is found and that envelope left out.
        return await _enqueue(sink, envelopes)


async def _enqueue(sink: str, envelopes: Sequence[Envelope]) -> list[OutboxMessage]:
    queued = []
    async with in_transaction():
        for envelope in envelopes:
            if envelope.key is not None and await OutboxMessage.exists(
                sink=sink, key=envelope.key
            ):
                continue
            message = await OutboxMessage.create(
                sink=sink,
                event=envelope.event,
                subject=envelope.subject,
                payload=dict(envelope.payload),
                key=envelope.key,
            )
            queued.append(message)
    return queued


async def record_attempt(
    message: OutboxMessage, attempt: Attempt, duration_ms: float, retry_in: float
) -> None:
    """Log the attempt and move the message on: delivered, failed or due again."""
    now = datetime.now(UTC)
    changes: dict[str, Any] = {
        "attempts": message.attempts + 1,
        "last_error": attempt.error,
    }
    if attempt.ok:
        changes.update(delivered_at=now, next_attempt_at=None, last_error=None)
    elif attempt.permanent:
        changes.update(failed_at=now, next_attempt_at=None)
    else:
        changes["next_attempt_at"] = now + timedelta(seconds=retry_in)

    async with in_transaction():
        await DeliveryAttempt.create(
            message_id=message.id,
            sink=message.sink,
            attempted_at=now,
            ok=attempt.ok,
            action=attempt.action[:255],
            http_status=attempt.status,
            error=attempt.error,
            duration_ms=round(duration_ms, 3),
        )
        await OutboxMessage.filter(id=message.id).update(**changes)


class Deliverer:
    """Sends one sink's messages in order, while it holds the sink's lease."""

    def __init__(self, sink: Sink, options: DeliveryOptions) -> None:
        self.sink = sink
        self.options = options
        host = socket.gethostname()[:32]
        self.holder = f"{host}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_name = f"outbox:{sink.name}"
        self.loop = Periodic(f"outbox {sink.name}", options.poll_interval, self._tick)
        self._fresh = True
        self._closing = False

    async def round(self) -> int:
        """Deliver what is due, oldest first; the number of messages that left."""
        sent = 0
        while sent < BATCH and not self._closing:
            if not await take_lease(self.lease_name, self.holder, LEASE):
                break
            message = await pending(self.sink.name).first()
            if message is None or not self._is_due(message):
                break
            if not await self._attempt(message):
                break
            sent += 1
        self._fresh = False
        return sent

    async def _tick(self) -> None:
        await self.round()

    def _is_due(self, message: OutboxMessage) -> bool:
        due = message.next_attempt_at
        return self._fresh or due is None or due <= datetime.now(UTC)

    async def _attempt(self, message: OutboxMessage) -> bool:
        """One attempt; True if the queue may go on past this message."""
        started = time.perf_counter()
        try:
            attempt = await self.sink.deliver(message)
        except Exception as exc:  # noqa: BLE001 - a failed attempt, retried
            attempt = Attempt(ok=False, error=f"unexpected {type(exc).__name__}")
        duration_ms = (time.perf_counter() - started) * 1000
        retry_in = backoff(
            message.attempts + 1, self.options.retry_min, self.options.retry_max
        )
        await record_attempt(message, attempt, duration_ms, retry_in)

        self._log(message, attempt, retry_in)
        return attempt.ok or attempt.permanent

    def _log(self, message: OutboxMessage, attempt: Attempt, retry_in: float) -> None:
        what = (self.sink.name, message.id, message.event)
        if attempt.ok:
            logger.info("%s: delivered message %s (%s) %s", *what, attempt.action)
        elif attempt.permanent:
            logger.warning("%s: message %s (%s) refused: %s", *what, attempt.error)
        else:
            logger.warning(
                "%s: message %s (%s) failed, attempt %s, again in %.1fs: %s",
                *what,
                message.attempts + 1,
                retry_in,
                attempt.error,
            )

    def start(self) -> None:
        self._fresh = True
        self._closing = False
        self.loop.start()

    async def stop(self) -> None:
        """Finish the message in hand, give the lease up and close the sink."""
        self._closing = True
        await self.loop.stop()
        await release_lease(self.lease_name, self.holder)
        await self.sink.close()


class _Subscriber:
    """Queues a sink's messages for each event, in the request that raised it."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    @hookimpl
    async def hostmgr_event(self, event: Event) -> None:
        envelopes = self.sink.messages_for(event)
        if envelopes:
            await enqueue(self.sink.name, envelopes)


def subscriber_name(sink: Sink) -> str:
    return f"outbox.{sink.name}"


def attach_sink(
    pm: pluggy.PluginManager, sink: Sink, options: DeliveryOptions
) -> Deliverer:
    """Subscribe ``sink`` to this app's events and start delivering to it."""
    pm.register(_Subscriber(sink), name=subscriber_name(sink))
    deliverer = Deliverer(sink, options)
    deliverer.start()
    return deliverer


async def detach_sink(pm: pluggy.PluginManager, deliverer: Deliverer | None) -> None:
    """Stop queuing for the sink and stop delivering; what is queued stays.

    Nothing to do for None, a sink that was never attached.
    """
    if deliverer is None:
        return
    pm.unregister(name=subscriber_name(deliverer.sink))
    await deliverer.stop()
