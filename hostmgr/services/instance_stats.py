"""Live instance stats from cgroup files, with CPU measured between reads.

No engine stats call is made. A container's cgroup files are found once through
its init pid (``/proc/<pid>/cgroup``, whose path names the container id on Docker
and Podman alike), then kept open and read with ``pread``
(``cgroups.CgroupFiles``), so a steady stream of stats requests costs neither an
engine call nor a thread hop. Once the container stops its handles go stale, and
the next read costs one inspect.

CPU percent is averaged since an earlier read of the same instance, at least
``MIN_BASELINE_AGE`` and at most ``MAX_BASELINE_AGE`` old. A background sampler
(``sample_running``, every ``SAMPLE_INTERVAL`` seconds in each worker) keeps such
reads at hand for every running instance, so a request never waits; only an
instance started since the last round is measured over ``FIRST_SAMPLE_GAP``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict, deque
from pathlib import Path

from hostmgr import cgroups
from hostmgr.models import Instance, InstanceStatus
from hostmgr.periodic import Periodic
from hostmgr.runtime import Runtime

logger = logging.getLogger(__name__)

MAX_BASELINE_AGE_NS = 10 * 1_000_000_000
MIN_BASELINE_AGE_NS = 50 * 1_000_000
FIRST_SAMPLE_GAP = 0.1
SAMPLE_INTERVAL = 2.0
HISTORY = 4
# Containers whose cgroup files stay open (four each); past that the least
# recently read are closed, and opened again when next read.
MAX_OPEN = 128
# The sampler reads this many containers, then lets requests in.
SAMPLE_SLICE = 16
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
        # Only the event loop touches these handles, so none is closed while
        # another task reads it.
        self.files: OrderedDict[str, cgroups.CgroupFiles] = OrderedDict()
        self.history: dict[str, deque[cgroups.Usage]] = {}
        self.sampler = Periodic("stats sampler", SAMPLE_INTERVAL, self.sample_running)

    async def pid_of(self, container_id: str) -> int | None:
        """The init pid of a running container, None while it is not running."""
        pid = self.pids.get(container_id)
        if pid and await asyncio.to_thread(_pid_belongs, pid, container_id):
            return pid
        return await self._inspect_pid(container_id)

    async def _inspect_pid(self, container_id: str) -> int | None:
        info = await self.runtime.inspect(container_id)
        self.history.pop(container_id, None)
        if not info.running or not info.pid:
            self.pids.pop(container_id, None)
            return None
        self.pids[container_id] = info.pid
        return info.pid

    async def _open(self, container_id: str) -> cgroups.CgroupFiles | None:
        """Open a running container's cgroup files; None if it is not running."""
        self._close(container_id)
        pid = await self._inspect_pid(container_id)
        if pid is None:
            return None
        try:
            files = await asyncio.to_thread(cgroups.CgroupFiles, pid, container_id)
        except cgroups.CgroupGone:
            return None
        self.files[container_id] = files
        while len(self.files) > MAX_OPEN:
            _, oldest = self.files.popitem(last=False)
            oldest.close()
        return files

    def _close(self, container_id: str) -> None:
        files = self.files.pop(container_id, None)
        if files is not None:
            files.close()

    def _read_open(self, container_id: str) -> cgroups.Usage | None:
        """A read through the open files, None if there are none or they are stale.

        Four ``pread`` calls on open cgroup files, about 15 us that never wait
        on a device: cheaper than a hop to a worker thread, so it runs right here
        on the event loop.
        """
        files = self.files.get(container_id)
        if files is None:
            return None
        try:
            usage = files.read()
        except cgroups.CgroupGone:
            self._close(container_id)
            return None
        self.files.move_to_end(container_id)
        return usage

    def _baseline(self, container_id: str, now: cgroups.Usage) -> cgroups.Usage | None:
        for sample in reversed(self.history.get(container_id, ())):
            age = now.read_at_ns - sample.read_at_ns
            if MIN_BASELINE_AGE_NS <= age <= MAX_BASELINE_AGE_NS:
                return sample
        return None

    def _remember(self, container_id: str, usage: cgroups.Usage) -> None:
        history = self.history.setdefault(container_id, deque(maxlen=HISTORY))
        # Keep samples spaced out, so that a burst of reads cannot push every
        # usable baseline out of the short history.
        if history and usage.read_at_ns - history[-1].read_at_ns < MIN_BASELINE_AGE_NS:
            return
        history.append(usage)

    async def sample_running(self) -> None:
        """Record one read of every running instance (the sampler's round)."""
        rows = await Instance.filter(
            status=InstanceStatus.RUNNING, container_id__not_isnull=True
        ).values_list("container_id", flat=True)
        live = {str(container_id) for container_id in rows}
        for count, container_id in enumerate(live, 1):
            if count % SAMPLE_SLICE == 0:
                await asyncio.sleep(0)  # let requests in between slices
            try:
                usage = self._read_open(container_id)
                if usage is None:
                    files = await self._open(container_id)
                    if files is None:
                        continue
                    usage = files.read()
                self._remember(container_id, usage)
            except Exception as exc:  # noqa: BLE001 - one instance must not stop the round
                logger.debug("stats sample of %s failed: %r", container_id, exc)
        for gone in set(self.history) - live:
            del self.history[gone]
        for gone in set(self.files) - live:
            self._close(gone)

    async def read(self, instance: Instance, limit_bytes: int) -> InstanceStats:
        """Stats for one instance; ``limit_bytes`` is shown while it is stopped."""
        container_id = instance.container_id or ""
        try:
            now = self._read_open(container_id)
            if now is None and container_id:
                files = await self._open(container_id)
                now = files.read() if files is not None else None
            if now is None:
                status = instance.status
                if status == InstanceStatus.RUNNING:
                    # The engine says it is not running.
                    status = InstanceStatus.STOPPED
                return InstanceStats(str(status), 0.0, 0, limit_bytes)
            before = self._baseline(container_id, now)
            if before is None:
                before = now
                await asyncio.sleep(FIRST_SAMPLE_GAP)
                now = self._read_open(container_id)
                if now is None:
                    raise cgroups.CgroupGone(container_id)
        except cgroups.CgroupGone:
            self._close(container_id)
            self.pids.pop(container_id, None)
            return InstanceStats(str(InstanceStatus.STOPPED), 0.0, 0, limit_bytes)
        self._remember(container_id, now)
        status = (
            InstanceStatus.SUSPENDED if instance.suspended else InstanceStatus.RUNNING
        )
        limit = (
            now.memory_limit if now.memory_limit < cgroups.UNLIMITED else limit_bytes
        )
        return InstanceStats(
            str(status), cgroups.cpu_percent(before, now), now.memory_bytes, limit
        )
