"""A Podman API service that hostmgr starts and stops itself.

Used when no socket is configured, so the embedded default needs no daemon set-up.
Each server process runs its own service on its own socket; they share Podman's
storage, which Podman locks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

# Podman's defaults fail on hosts without systemd and with tight hard rlimits:
# crun refuses hybrid cgroups and the default ulimits exceed the hard limits.
CONTAINERS_CONF = """\
# Written by hostmgr for the Podman API service it runs.
[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""

START_TIMEOUT = 15.0


def _hard_limit(resource: int, ceiling: int) -> int:
    import resource as rlimit

    _, hard = rlimit.getrlimit(resource)
    return ceiling if hard == rlimit.RLIM_INFINITY else min(hard, ceiling)


def write_containers_conf(path: Path) -> Path:
    import resource as rlimit

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        CONTAINERS_CONF.format(
            nofile=_hard_limit(rlimit.RLIMIT_NOFILE, 1024 * 64),
            nproc=_hard_limit(rlimit.RLIMIT_NPROC, 1024 * 4),
        )
    )
    return path


class PodmanService:
    def __init__(self, state_dir: Path, containers_conf: Path | None = None) -> None:
        self.state_dir = state_dir
        self.socket = state_dir / f"podman-{os.getpid()}.sock"
        self.containers_conf = containers_conf
        self.process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def environment(self) -> dict[str, str]:
        conf = self.containers_conf or write_containers_conf(
            self.state_dir / "containers.conf"
        )
        return {**os.environ, "CONTAINERS_CONF": str(conf)}

    async def ensure_running(self) -> None:
        async with self._lock:
            if self.process is not None and self.process.returncode is None:
                return
            binary = shutil.which("podman")
            if binary is None:
                raise FileNotFoundError("podman is not installed")
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.socket.unlink(missing_ok=True)
            self.process = await asyncio.create_subprocess_exec(
                binary,
                "system",
                "service",
                "--time=0",
                self.url,
                env=await asyncio.to_thread(self.environment),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = asyncio.get_running_loop().time() + START_TIMEOUT
            while not self.socket.exists():
                if self.process.returncode is not None:
                    raise OSError(
                        f"podman system service exited ({self.process.returncode})"
                    )
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("podman system service did not open its socket")
                await asyncio.sleep(0.05)
            logger.info("podman: API service started on %s", self.socket)

    async def stop(self) -> None:
        async with self._lock:
            if self.process is None or self.process.returncode is not None:
                return
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
            self.socket.unlink(missing_ok=True)
            logger.info("podman: API service stopped")
