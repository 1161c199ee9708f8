"""Live instance stats from cgroup files, with CPU measured between reads.

No engine stats call is made. The container's init pid is remembered per
container and checked against ``/proc/<pid>/cgroup`` (whose path names the
container id on Docker and Podman alike), so a steady stream of stats requests
costs no engine call at all; a stale pid costs one inspect.

CPU percent is the average since this worker's previous read of that instance,
if that read is under ``MAX_BASELINE_AGE`` old; otherwise two reads
``FIRST_SAMPLE_GAP`` apart are taken.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from hostmgr import cgroups
from hostmgr.models import Instance, InstanceStatus
from hostmgr.runtime import Runtime

MAX_BASELINE_AGE_NS = 10 * 1_000_000_000
MIN_BASELINE_AGE_NS = 50 * 1_000_000
FIRST_SAMPLE_GAP = 0.1
UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(count: float) -> str:
    """``250MiB``, ``1GiB``, ``1.5GiB``: binary units, one decimal at most."""
    unit = 0
    while count >= 1024 and unit < len(UNITS) - 1:
        count /= 1024
        unit += 1
    text = f"{count:.1f}".rstrip("0").rstrip(".")
    return f"{text}{UNITS[unit]}"


@dataclasses.dataclass(frozen=True)
class InstanceStats:
    status: str
    cpu_percent: float
    memory_usage: int
    memory_limit: int

    @property
    def memory_percent(self) -> float:
        if not self.memory_limit:
            return 0.0
        return round(self.memory_usage / self.memory_limit * 100, 1)


def _pid_belongs(pid: int, container_id: str) -> bool:
    try:
        return container_id in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


class StatsReader:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pids: dict[str, int] = {}
        self.last: dict[str, cgroups.Usage] = {}

    async def _pid(self, container_id: str) -> int | None:
        pid = self.pids.get(container_id)
        if pid and await asyncio.to_thread(_pid_belongs, pid, container_id):
            return pid
        info = await self.runtime.inspect(container_id)
        self.last.pop(container_id, None)
        if not info.running or not info.pid:
            self.pids.pop(container_id, None)
            return None
        self.pids[container_id] = info.pid
        return info.pid

    async def read(self, instance: Instance, limit_bytes: int) -> InstanceStats:
        """Stats for one instance; ``limit_bytes`` is shown while it is stopped."""
        container_id = instance.container_id or ""
        pid = await self._pid(container_id) if container_id else None
        if pid is None:
            status = instance.status
            if status == InstanceStatus.RUNNING:
                status = InstanceStatus.STOPPED  # the engine says it is not running
            return InstanceStats(str(status), 0.0, 0, limit_bytes)
        try:
            now = await cgroups.read_usage(pid)
            before = self.last.get(container_id)
            age = now.read_at_ns - before.read_at_ns if before else 0
            if before is None or not MIN_BASELINE_AGE_NS <= age <= MAX_BASELINE_AGE_NS:
                before = now
                await asyncio.sleep(FIRST_SAMPLE_GAP)
                now = await cgroups.read_usage(pid)
        except cgroups.CgroupGone:
            self.pids.pop(container_id, None)
            return InstanceStats(str(InstanceStatus.STOPPED), 0.0, 0, limit_bytes)
        self.last[container_id] = now
        status = (
            InstanceStatus.SUSPENDED if instance.suspended else InstanceStatus.RUNNING
        )
        limit = (
            now.memory_limit if now.memory_limit < cgroups.UNLIMITED else limit_bytes
        )
        return InstanceStats(
            str(status), cgroups.cpu_percent(before, now), now.memory_bytes, limit
        )
