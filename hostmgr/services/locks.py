"""One action at a time per instance, across every worker.

A lease is a timestamp on the instance row, taken with one conditional UPDATE,
so it holds across processes on SQLite and PostgreSQL alike without keeping a
transaction open while the engine works. A worker that dies loses its lease
when it runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from hostmgr import caches
from hostmgr.errors import Conflict, NotFound
from hostmgr.models import Instance

LEASE = timedelta(seconds=120)
WAIT = 60.0
POLL = 0.05


@contextlib.asynccontextmanager
async def instance_lock(instance_id: int, *, wait: float = WAIT) -> AsyncIterator[None]:
    """Hold the instance's lease for the block; 409 if it stays busy ``wait`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        now = datetime.now(UTC)
        taken = await Instance.filter(
            Q(id=instance_id) & (Q(lock_until=None) | Q(lock_until__lt=now))
        ).update(lock_until=now + LEASE)
        if taken:
            break
        if not await Instance.exists(id=instance_id):
            raise NotFound("Instance not found")
        if loop.time() > deadline:
            raise Conflict("Another action on this instance is still running")
        await asyncio.sleep(POLL)
    try:
        yield
    finally:
        await Instance.filter(id=instance_id).update(lock_until=None)
        # Every change to an instance happens under its lease.
        caches.instances.forget()
