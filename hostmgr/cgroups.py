"""Reading a container's CPU and memory straight from its cgroup files.

The cgroup of a container is found through its init process
(``/proc/<pid>/cgroup``), which works alike for Docker and Podman and for cgroup
v1 and v2. The engines' own stats calls are far slower: Docker's waits about a
second for two samples.
"""

from __future__ import annotations

import asyncio
import dataclasses
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


def _read_int(path: Path) -> int:
    text = path.read_text().strip()
    return UNLIMITED if text == "max" else int(text)


def _stat(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        values[key] = int(value)
    return values


def read_usage_sync(pid: int) -> Usage:
    """Blocking read; use ``read_usage`` from async code."""
    cpu_dir, memory_dir, is_v2 = _paths(pid)
    try:
        if is_v2:
            cpu_ns = _stat(cpu_dir / "cpu.stat")["usage_usec"] * 1000
            current = _read_int(memory_dir / "memory.current")
            inactive = _stat(memory_dir / "memory.stat").get("inactive_file", 0)
            limit = _read_int(memory_dir / "memory.max")
        else:
            cpu_ns = _read_int(cpu_dir / "cpuacct.usage")
            current = _read_int(memory_dir / "memory.usage_in_bytes")
            inactive = _stat(memory_dir / "memory.stat").get("total_inactive_file", 0)
            limit = _read_int(memory_dir / "memory.limit_in_bytes")
    except (OSError, KeyError, ValueError) as exc:
        raise CgroupGone(str(pid)) from exc
    # The same "in use" figure as `docker stats`: page cache that could be
    # dropped at once does not count.
    memory = max(0, current - inactive)
    return Usage(cpu_ns, memory, limit, time.monotonic_ns())


async def read_usage(pid: int) -> Usage:
    return await asyncio.to_thread(read_usage_sync, pid)


def cpu_percent(before: Usage, after: Usage) -> float:
    """CPU use between two samples, 100 per fully used core (as `docker stats`)."""
    elapsed = after.read_at_ns - before.read_at_ns
    if elapsed <= 0:
        return 0.0
    return round(max(0, after.cpu_ns - before.cpu_ns) / elapsed * 100, 2)
