"""Reading a container's CPU and memory straight from its cgroup files.

The cgroup of a container is found through its init process
(``/proc/<pid>/cgroup``), which works alike for Docker and Podman and for cgroup
v1 and v2. The engines' own stats calls are far slower: Docker's waits about a
second for two samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# v1 reports "no limit" as a huge page-aligned number; v2 writes "max".
UNLIMITED = 1 << 62


class CgroupGone(Exception):
    """The process or its cgroup no longer exists (the container stopped)."""


@dataclasses.dataclass(frozen=True)
class Usage:
    cpu_ns: int
    memory_bytes: int
    memory_limit: int
    read_at_ns: int


def _paths(pid: int) -> tuple[Path, Path, bool]:
    """(cpu accounting dir, memory dir, is_v2) of the process's cgroup."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError as exc:
        raise CgroupGone(str(pid)) from exc
    cpu = memory = unified = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        names = controllers.split(",")
        if controllers == "":
            unified = path
        if "cpuacct" in names:
            cpu = CGROUP_ROOT / "cpuacct" / path.lstrip("/")
        if "memory" in names:
            memory = CGROUP_ROOT / "memory" / path.lstrip("/")
    if cpu is not None and memory is not None:
        return cpu, memory, False
    if unified is not None:
        directory = CGROUP_ROOT / unified.lstrip("/")
        return directory, directory, True
    raise CgroupGone(f"no cpu or memory cgroup for {pid}")


def _to_int(text: str) -> int:
    text = text.strip()
    return UNLIMITED if text == "max" else int(text)


def _to_stat(text: str) -> dict[str, int]:
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        values[key] = int(value)
    return values


class CgroupFiles:
    """One container's cgroup files, opened once and read with ``pread``.

    An open file stays bound to its cgroup: once the container stops, the
    kernel removes the cgroup and every read fails, even after a restart has
    made a new cgroup at the same path, so a stale handle can never report
    another container. A read is four ``pread`` calls, about 15 us of kernel
    work that never waits on a device.
    """

    def __init__(self, pid: int, container_id: str = "") -> None:
        cpu_dir, memory_dir, self.is_v2 = _paths(pid)
        if container_id not in str(memory_dir):
            # The pid was reused by a process of another cgroup.
            raise CgroupGone(f"{pid} is not in the cgroup of {container_id}")
        if self.is_v2:
            names = (
                cpu_dir / "cpu.stat",
                memory_dir / "memory.current",
                memory_dir / "memory.stat",
                memory_dir / "memory.max",
            )
        else:
            names = (
                cpu_dir / "cpuacct.usage",
                memory_dir / "memory.usage_in_bytes",
                memory_dir / "memory.stat",
                memory_dir / "memory.limit_in_bytes",
            )
        self._fds: list[int] = []
        try:
            for name in names:
                self._fds.append(os.open(name, os.O_RDONLY | os.O_CLOEXEC))
        except OSError as exc:
            self.close()
            raise CgroupGone(str(pid)) from exc

    def read(self) -> Usage:
        """The usage now; CgroupGone once the container has stopped."""
        try:
            cpu, current, stat, limit = (
                os.pread(fd, 65536, 0).decode() for fd in self._fds
            )
            if self.is_v2:
                cpu_ns = _to_stat(cpu)["usage_usec"] * 1000
                inactive = _to_stat(stat).get("inactive_file", 0)
            else:
                cpu_ns = _to_int(cpu)
                inactive = _to_stat(stat).get("total_inactive_file", 0)
            memory_current, memory_limit = _to_int(current), _to_int(limit)
        except (OSError, KeyError, ValueError) as exc:
            raise CgroupGone(str(exc)) from exc
        # The same "in use" figure as `docker stats`: page cache that could be
        # dropped at once does not count.
        memory = max(0, memory_current - inactive)
        return Usage(cpu_ns, memory, memory_limit, time.monotonic_ns())

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []


def read_usage_sync(pid: int) -> Usage:
    """Blocking one-off read; use ``read_usage`` from async code."""
    files = CgroupFiles(pid)
    try:
        return files.read()
    finally:
        files.close()


async def read_usage(pid: int) -> Usage:
    return await asyncio.to_thread(read_usage_sync, pid)


def cpu_percent(before: Usage, after: Usage) -> float:
    """CPU use between two samples, 100 per fully used core (as `docker stats`)."""
    elapsed = after.read_at_ns - before.read_at_ns
    if elapsed <= 0:
        return 0.0
    return round(max(0, after.cpu_ns - before.cpu_ns) / elapsed * 100, 2)
