"""The outbox, on SQLite and PostgreSQL: order, backoff, exactly once, the log, leases.

The receiver here is ``RecordingSink``, an implementation of the sink contract
that keeps what it is handed in memory and fails when told to: the outbox does
not know what is behind a sink, so nothing is faked for it. The plugins' sinks
are tested against real HTTP receivers in their own tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from hostmgr.events import Event, emit
from hostmgr.leases import lease_holder, release_lease, take_lease
from hostmgr.models import DeliveryAttempt, Lease, OutboxMessage
from hostmgr.outbox import (
    JITTER,
    Attempt,
    Deliverer,
    DeliveryOptions,
    Envelope,
    attach_sink,
    backoff,
    detach_sink,
    enqueue,
    pending,
)
from hostmgr.plugins import create_plugin_manager

OPTIONS = DeliveryOptions(timeout=1, poll_interval=0.02, retry_min=30, retry_max=600)


@dataclasses.dataclass
class RecordingSink:
    name: str = "recorder"
    seen: list[int] = dataclasses.field(default_factory=list)
    # Per attempt, in order: what to answer; ok once they run out.
    script: list[Attempt] = dataclasses.field(default_factory=list)
    closed: bool = False

    def messages_for(self, event: Event) -> Sequence[Envelope]:
        return [Envelope(event.name, event.subject, {"data": dict(event.data)})]

    async def deliver(self, message: OutboxMessage) -> Attempt:
        self.seen.append(message.id)
        if self.script:
            return self.script.pop(0)
        return Attempt(ok=True, action="record", status=200)

    async def close(self) -> None:
        self.closed = True


def _down(error: str = "connection refused") -> Attempt:
    return Attempt(ok=False, action="record", error=error)


async def _queue(sink: str, *subjects: str) -> list[int]:
    queued = await enqueue(
        sink, [Envelope("thing.happened", s, {"n": s}) for s in subjects]
    )
    return [m.id for m in queued]


async def _make_due(*ids: int) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    await OutboxMessage.filter(id__in=ids).update(next_attempt_at=past)


async def test_messages_go_oldest_first_and_are_marked_delivered(db):
    ids = await _queue("recorder", "a", "b", "c")
    sink = RecordingSink()

    assert await Deliverer(sink, OPTIONS).round() == 3

    assert sink.seen == ids
    rows = await OutboxMessage.filter(id__in=ids)
    assert all(row.delivered_at is not None and row.attempts == 1 for row in rows)
    assert await pending("recorder").count() == 0
    log = await DeliveryAttempt.all().order_by("id")
    assert [(row.message_id, row.ok, row.http_status) for row in log] == [
        (i, True, 200) for i in ids
    ]
    assert all(row.sink == "recorder" and row.action == "record" for row in log)


async def test_a_failure_holds_back_later_messages_until_it_goes_through(db):
    first, second = await _queue("recorder", "first", "second")
    sink = RecordingSink(script=[_down()])
    deliverer = Deliverer(sink, OPTIONS)

    assert await deliverer.round() == 0
    assert sink.seen == [first]  # the second was not tried past the first
    assert await deliverer.round() == 0  # not due yet: backoff
    assert sink.seen == [first]

    await _make_due(first)
    assert await deliverer.round() == 2
    assert sink.seen == [first, first, second]
    log = await DeliveryAttempt.all().order_by("id")
    assert [(row.message_id, row.ok) for row in log] == [
        (first, False),
        (first, True),
        (second, True),
    ]
    assert log[0].error == "connection refused"
    message = await OutboxMessage.get(id=first)
    assert message.attempts == 2 and message.last_error is None


async def test_each_failure_in_a_row_waits_twice_as_long_up_to_the_cap(db):
    (ident,) = await _queue("recorder", "x")
    options = dataclasses.replace(OPTIONS, retry_min=10, retry_max=50)
    sink = RecordingSink(script=[_down() for _ in range(5)])
    deliverer = Deliverer(sink, options)

    waits = []
    for _ in range(5):
        await _make_due(ident)
        await deliverer.round()
        message = await OutboxMessage.get(id=ident)
        attempt = await DeliveryAttempt.filter(message_id=ident).order_by("-id").first()
        assert message.next_attempt_at is not None and attempt is not None
        waits.append((message.next_attempt_at - attempt.attempted_at).total_seconds())

    for wait, full in zip(waits, [10, 20, 40, 50, 50], strict=True):
        assert full * (1 - JITTER) - 0.01 <= wait <= full + 0.01
    assert (await OutboxMessage.get(id=ident)).attempts == 5


def test_backoff_doubles_from_the_first_delay_and_stops_at_the_cap():
    assert [backoff(n, 5, 60, rand=lambda: 0.0) for n in range(1, 7)] == [
        5,
        10,
        20,
        40,
        60,
        60,
    ]
    assert backoff(3, 5, 60, rand=lambda: 1.0) == pytest.approx(20 * (1 - JITTER))
    assert backoff(10_000, 5, 60, rand=lambda: 0.0) == 60


async def test_a_permanent_refusal_is_recorded_and_the_queue_goes_on(db):
    bad, good = await _queue("recorder", "bad", "good")
    refusal = Attempt(ok=False, status=422, error="no such client", permanent=True)
    sink = RecordingSink(script=[refusal])

    assert await Deliverer(sink, OPTIONS).round() == 2

    assert sink.seen == [bad, good]
    refused = await OutboxMessage.get(id=bad)
    assert refused.failed_at is not None and refused.delivered_at is None
    assert refused.last_error == "no such client"
    assert (await OutboxMessage.get(id=good)).delivered_at is not None
    log = await DeliveryAttempt.filter(message_id=bad)
    assert [(row.ok, row.http_status) for row in log] == [(False, 422)]


async def test_a_sink_that_raises_counts_as_a_failed_attempt(db):
    (ident,) = await _queue("recorder", "x")

    class Exploding(RecordingSink):
        async def deliver(self, message: OutboxMessage) -> Attempt:
            raise RuntimeError("bug in the sink")

    assert await Deliverer(Exploding(), OPTIONS).round() == 0
    message = await OutboxMessage.get(id=ident)
    assert message.delivered_at is None and message.attempts == 1
    assert message.last_error == "unexpected RuntimeError"


async def test_a_keyed_envelope_is_queued_once(db):
    envelope = Envelope("bill", "x", {"amount": "1.00"}, key="bill:x:2025-01")
    first = await enqueue("recorder", [envelope])
    again = await enqueue("recorder", [envelope, Envelope("other", "y", {})])

    assert len(first) == 1
    assert [m.event for m in again] == ["other"]
    assert await OutboxMessage.filter(key="bill:x:2025-01").count() == 1
    # Another sink has its own keys.
    assert len(await enqueue("elsewhere", [envelope])) == 1


async def test_only_the_lease_holder_delivers(db):
    await _queue("recorder", "a", "b")
    one, two = RecordingSink(), RecordingSink()
    first, second = Deliverer(one, OPTIONS), Deliverer(two, OPTIONS)

    assert await first.round() == 2
    await _queue("recorder", "c")
    assert await second.round() == 0
    assert two.seen == []
    assert await lease_holder("outbox:recorder") == first.holder

    await first.stop()  # gives the lease up at once
    assert one.closed
    assert await second.round() == 1
    assert len(two.seen) == 1
    assert await lease_holder("outbox:recorder") == second.holder


async def test_a_lease_that_ran_out_passes_to_another_holder(db):
    lease = timedelta(seconds=60)
    assert await take_lease("job", "a", lease)
    assert not await take_lease("job", "b", lease)
    assert await take_lease("job", "a", lease)  # renewal

    await Lease.filter(name="job").update(until=datetime.now(UTC) - timedelta(1))
    assert await lease_holder("job") is None
    assert await take_lease("job", "b", lease)
    assert not await take_lease("job", "a", lease)

    await release_lease("job", "a")  # not a's to give up
    assert await lease_holder("job") == "b"
    await release_lease("job", "b")
    assert await take_lease("job", "a", lease)


async def test_workers_racing_deliver_each_message_exactly_once(db):
    ids = await _queue("recorder", *(f"m{i}" for i in range(30)))
    sinks = [RecordingSink() for _ in range(3)]
    deliverers = [Deliverer(sink, OPTIONS) for sink in sinks]

    async def work(deliverer: Deliverer) -> None:
        for _ in range(20):
            await deliverer.round()
            await asyncio.sleep(0)

    await asyncio.gather(*(work(d) for d in deliverers))

    seen = [ident for sink in sinks for ident in sink.seen]
    assert sorted(seen) == ids  # each once
    assert sum(bool(sink.seen) for sink in sinks) == 1  # by the lease holder only
    assert await DeliveryAttempt.all().count() == len(ids)


async def test_messages_left_pending_are_sent_by_the_next_deliverer(db):
    ids = await _queue("recorder", "a", "b")
    before = Deliverer(RecordingSink(script=[_down()]), OPTIONS)
    await before.round()
    await before.stop()  # the panel stops with "a" backing off for 30 s

    after = RecordingSink()
    restarted = Deliverer(after, OPTIONS)
    assert await restarted.round() == 2  # a fresh start does not wait out backoff
    assert after.seen == ids


async def test_an_attached_sink_queues_events_and_delivers_them_in_the_background(
    db,
):
    pm = create_plugin_manager(load_entry_points=False)
    sink = RecordingSink()
    deliverer = attach_sink(pm, sink, OPTIONS)
    try:
        for n in range(3):
            await emit(pm, Event("thing.happened", f"s{n}", {"n": n}))
        queued = await OutboxMessage.filter(sink="recorder").order_by("id")
        assert [(m.subject, m.payload) for m in queued] == [
            (f"s{n}", {"data": {"n": n}}) for n in range(3)
        ]
        for _ in range(500):
            if await pending("recorder").count() == 0:
                break
            await asyncio.sleep(0.01)
        assert sink.seen == [m.id for m in queued]
    finally:
        await detach_sink(pm, deliverer)

    await emit(pm, Event("thing.happened", "after", {}))
    assert not await OutboxMessage.exists(subject="after")
    assert sink.closed


async def test_the_cli_lists_messages_and_the_delivery_log(db, tmp_path):
    delivered, refused, waiting = await _queue("recorder", "done", "bad", "later")
    sink = RecordingSink(
        script=[
            Attempt(ok=True, action="record", status=200),
            Attempt(ok=False, status=422, error="no such client", permanent=True),
            _down("connection refused"),
        ]
    )
    await Deliverer(sink, OPTIONS).round()
    env = {
        **os.environ,
        "HOSTMGR_DATA_DIR": str(tmp_path),
        "HOSTMGR_DATABASE_URL": db,
    }

    def hostmgr(*args: str) -> list[str]:
        result = subprocess.run(
            [sys.executable, "-m", "hostmgr", "outbox", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.splitlines()[1:]

    rows = await asyncio.to_thread(hostmgr, "list", "--sink", "recorder")
    states = [(int(r.split()[0]), r.split()[4], r.split()[5]) for r in rows]
    assert states == [
        (waiting, "pending", "1"),
        (refused, "failed", "1"),
        (delivered, "delivered", "1"),
    ]
    assert "connection refused" in rows[0] and "no such client" in rows[1]

    rows = await asyncio.to_thread(hostmgr, "list", "--pending")
    assert [int(r.split()[0]) for r in rows] == [waiting]

    rows = await asyncio.to_thread(hostmgr, "log", "--message", str(refused))
    assert len(rows) == 1
    assert " no " in rows[0] and "422" in rows[0] and "no such client" in rows[0]
