"""Named leases: one holder at a time for a piece of work, across every worker.

A lease is a row with a holder and an expiry, taken or renewed with one
conditional UPDATE, so it holds across processes on SQLite and PostgreSQL alike
without a transaction left open. A holder that dies loses the lease when it runs
out; one that stops releases it at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from hostmgr.models import Lease


async def take_lease(name: str, holder: str, duration: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``duration``; False if another holds it."""
    now = datetime.now(UTC)
    taken = await Lease.filter(
        Q(name=name) & (Q(holder=holder) | Q(until__lt=now))
    ).update(holder=holder, until=now + duration)
    if taken:
        return True

    if await Lease.exists(name=name):
        return False
    try:
        await Lease.create(name=name, holder=holder, until=now + duration)
    except IntegrityError:
        return False  # another holder created it first
    return True


async def release_lease(name: str, holder: str) -> None:
    """Give the lease up, if ``holder`` still has it."""
    await Lease.filter(name=name, holder=holder).update(until=datetime.now(UTC))


async def lease_holder(name: str) -> str | None:
    """Who holds the lease now, or None."""
    lease = await Lease.get_or_none(name=name, until__gte=datetime.now(UTC))
    return lease.holder if lease else None
