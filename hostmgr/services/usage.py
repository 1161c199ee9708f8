"""Monthly traffic and disk use of every instance, for billing.

Traffic comes from the network counters of the container's own network
namespace (``/proc/<pid>/net/dev`` of its init process), read every
``usage_interval`` seconds by a meter in each worker. Both engines make a new
namespace at every start, with counters from zero, so the counters last seen are
kept on the instance row with the identity of the process they were read
through (pid and start time; a namespace's inode number is reused too soon to
tell starts apart). A restarted container thus loses nothing already counted,
and several workers never count the same bytes twice: a round only adds what it
read if the row still holds the counters that round started from.

Traffic sent after the last round and before a stop is not counted, at most one
interval's worth; reading the counters in the stop path would lift that.

Disk is the space the data volume takes on the host, measured every
``DISK_ROUNDS`` rounds (a walk of the volume, in a worker thread).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from hostmgr.models import Instance, InstanceStatus, InstanceUsage
from hostmgr.periodic import Periodic
from hostmgr.runtime import Runtime, RuntimeFailure
from hostmgr.services.instance_stats import StatsReader
from hostmgr.services.instances import volume_name

logger = logging.getLogger(__name__)

DISK_ROUNDS = 10
# Linux pids stay below 2**22 (the largest pid_max).
PID_BITS = 22
MiB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Traffic:
    #: Tells one start of the container from the next: see ``counter_key``.
    key: int
    rx_bytes: int
    tx_bytes: int


def current_period(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


def counter_key(pid: int) -> int:
    """The pid and start time of a process, as one number unique until reboot."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which may itself hold spaces and brackets.
    start_ticks = int(stat.rpartition(")")[2].split()[19])
    return start_ticks << PID_BITS | pid


def read_traffic(pid: int) -> Traffic:
    """Bytes in and out of every interface but loopback in ``pid``'s namespace."""
    key = counter_key(pid)
    rx = tx = 0
    for line in Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]:
        interface, _, counters = line.partition(":")
        if interface.strip() == "lo":
            continue
        values = counters.split()
        rx += int(values[0])
        tx += int(values[8])
    return Traffic(key, rx, tx)


def measure_disk(path: str) -> int:
    """Bytes allocated under ``path``, without following links or mounts."""
    root_device = os.lstat(path).st_dev
    total = 0
    for directory, subdirs, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue  # removed while walking
            total += info.st_blocks * 512
        subdirs[:] = [
            d
            for d in subdirs
            if os.lstat(os.path.join(directory, d)).st_dev == root_device
        ]
    return total


async def record_traffic(instance: Instance, seen: Traffic) -> bool:
    """Add what ``seen`` adds to the counters last stored; False if another
    worker stored newer ones first (its round counted these bytes)."""
    same = seen.key == instance.net_counter_key
    rx = seen.rx_bytes - instance.net_rx_seen if same else seen.rx_bytes
    tx = seen.tx_bytes - instance.net_tx_seen if same else seen.tx_bytes
    if rx < 0 or tx < 0:  # counters wrapped or were reset in place
        rx, tx = seen.rx_bytes, seen.tx_bytes

    async with in_transaction():
        updated = await Instance.filter(
            id=instance.id,
            net_counter_key=instance.net_counter_key,
            net_rx_seen=instance.net_rx_seen,
            net_tx_seen=instance.net_tx_seen,
        ).update(
            net_counter_key=seen.key,
            net_rx_seen=seen.rx_bytes,
            net_tx_seen=seen.tx_bytes,
        )
        if not updated:
            return False
        if rx or tx:
            row = await _period_row(instance.id)
            await InstanceUsage.filter(id=row.id).update(
                rx_bytes=F("rx_bytes") + rx, tx_bytes=F("tx_bytes") + tx
            )
    return True


async def record_disk(instance_id: int, disk_bytes: int) -> None:
    row = await _period_row(instance_id)
    await InstanceUsage.filter(id=row.id).update(
        disk_bytes=disk_bytes, disk_measured_at=datetime.now(UTC)
    )


async def _period_row(instance_id: int) -> InstanceUsage:
    row, _ = await InstanceUsage.get_or_create(
        instance_id=instance_id, period=current_period()
    )
    return row


class UsageMeter:
    """Reads every running instance's traffic each round, and its disk now and then."""

    def __init__(self, runtime: Runtime, stats: StatsReader, interval: float) -> None:
        self.runtime = runtime
        self.stats = stats
        self.rounds = 0
        self.volume_paths: dict[str, str] = {}
        self.loop = Periodic("usage meter", interval, self.round)

    async def round(self) -> None:
        measure_disk_now = self.rounds % DISK_ROUNDS == 0
        self.rounds += 1
        instances = await Instance.filter(
            status=InstanceStatus.RUNNING, container_id__not_isnull=True
        )
        for instance in instances:
            try:
                await self.meter(instance, with_disk=measure_disk_now)
            except Exception as exc:  # noqa: BLE001 - one instance must not stop the round
                logger.debug("usage of %s not read: %r", instance.name, exc)

    async def meter(self, instance: Instance, *, with_disk: bool = True) -> None:
        """Record the instance's traffic now, and its disk if ``with_disk``."""
        pid = await self.stats.pid_of(instance.container_id or "")
        if pid is not None:
            seen = await asyncio.to_thread(read_traffic, pid)
            await record_traffic(instance, seen)
        if with_disk:
            path = await self._volume_path(instance)
            if path is not None:
                await record_disk(
                    instance.id, await asyncio.to_thread(measure_disk, path)
                )

    async def _volume_path(self, instance: Instance) -> str | None:
        volume = volume_name(instance)
        if volume not in self.volume_paths:
            try:
                self.volume_paths[volume] = await self.runtime.volume_path(volume)
            except RuntimeFailure as exc:
                logger.debug("no path for volume %s: %r", volume, exc)
                return None
        return self.volume_paths[volume]


def usage_out(
    instance: Instance, row: InstanceUsage | None, period: str
) -> dict[str, Any]:
    """One instance's usage in ``period``; the package's disk is the limit."""
    rx = row.rx_bytes if row else 0
    tx = row.tx_bytes if row else 0
    return {
        "name": instance.name,
        "domain": instance.domain,
        "user_id": instance.user_id,
        "period": period,
        "disk_usage_mb": round((row.disk_bytes if row else 0) / MiB, 2),
        "disk_limit_mb": instance.package.disk_gb * 1024,
        "bandwidth_mb": round((rx + tx) / MiB, 2),
        "bandwidth_in_mb": round(rx / MiB, 2),
        "bandwidth_out_mb": round(tx / MiB, 2),
        "bandwidth_limit_mb": 0,
        "updated_at": row.updated_at.isoformat() if row else None,
    }
