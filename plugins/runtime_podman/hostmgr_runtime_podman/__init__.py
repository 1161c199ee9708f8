"""The Podman runtime: instances as Podman containers, rootful or rootless.

Settings, in ``[plugins.runtime_podman]`` or the environment:

- ``url`` / ``HOSTMGR_PODMAN_URL``: a Podman API socket, for example
  ``unix:///run/podman/podman.sock``. Without one, hostmgr runs
  ``podman system service`` itself for as long as it runs.
- ``containers_conf``: a containers.conf for that service; by default hostmgr
  writes one that works without systemd (runc, cgroupfs, ulimits under the hard
  limits).

Podman 4.3 applies a live update to the cgroup at once but forgets it on the next
start, so ``start`` applies the instance's current limits again.

Rootless Podman runs the same way as a normal user. Its CPU and memory limits are
enforced only on a cgroup v2 host with controller delegation; on cgroup v1 Podman
ignores them with a warning.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import podman.errors
import requests.exceptions
from podman import PodmanClient
from podman.domain.containers import Container

from hostmgr.config import Settings
from hostmgr.hookspecs import hookimpl
from hostmgr.runtime import (
    ContainerInfo,
    ContainerNotFound,
    ContainerSpec,
    ImageUnavailable,
    Limits,
    NameConflict,
    Runtime,
    RuntimeFailure,
    RuntimeUnavailable,
    SdkErrors,
    create_options,
    translated_errors,
)
from hostmgr_runtime_podman.service import PodmanService

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The libpod API version served by Podman 4.x; podman-py does not detect it.
API_VERSION = "4.0.0"
CALL_TIMEOUT = 5
SDK_ERRORS = SdkErrors(
    not_found=podman.errors.NotFound,
    image_not_found=podman.errors.ImageNotFound,
    api_error=podman.errors.APIError,
    unreachable=(requests.exceptions.ConnectionError, requests.exceptions.Timeout),
    bad_answer=(requests.exceptions.RequestException, podman.errors.PodmanError),
)


class PodmanRuntime(Runtime):
    name = "podman"

    def __init__(self, url: str | None, service: PodmanService | None = None) -> None:
        self.service = service
        self.url = url or (service.url if service else "")
        self.client = PodmanClient(
            base_url=self.url, version=API_VERSION, timeout=CALL_TIMEOUT
        )
        self._limits_enforced: bool | None = None

    async def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with translated_errors(self.name, SDK_ERRORS):
            if self.service is not None:
                await self.service.ensure_running()
            return await asyncio.to_thread(func, *args, **kwargs)

    async def limits_enforced(self) -> bool:
        """False for rootless Podman on cgroup v1, which cannot set limits at all."""
        if self._limits_enforced is None:
            host = (await self._call(self.client.info))["host"]
            rootless = bool(host["security"]["rootless"])
            self._limits_enforced = not (rootless and host["cgroupVersion"] == "v1")
            if not self._limits_enforced:
                logger.warning(
                    "podman: rootless on cgroup v1, CPU and memory limits are NOT "
                    "enforced; use a cgroup v2 host with delegation, or rootful podman"
                )
        return self._limits_enforced

    def _container(self, container_id: str) -> Container:
        return self.client.containers.get(container_id)

    async def ping(self) -> None:
        if not await self._call(self.client.ping):
            raise RuntimeUnavailable(self.name, "ping failed")

    async def volume_exists(self, volume: str) -> bool:
        return bool(await self._call(self.client.volumes.exists, volume))

    async def volume_path(self, volume: str) -> str:
        found = await self._call(self.client.volumes.get, volume)
        return str(found.attrs["Mountpoint"])

    async def _ensure_image(self, image: str) -> None:
        if await self._call(self.client.images.exists, image):
            return
        logger.info("podman: pulling %s", image)
        try:
            await self._call(self.client.images.pull, image)
        except (RuntimeFailure, ContainerNotFound) as exc:
            if isinstance(exc, RuntimeUnavailable):
                raise
            raise ImageUnavailable(image) from exc
        if not await self._call(self.client.images.exists, image):
            raise ImageUnavailable(image)

    async def create(self, spec: ContainerSpec) -> str:
        await self._ensure_image(spec.image)
        if await self.volume_exists(spec.volume):
            raise NameConflict(spec.volume)
        options = create_options(spec, with_limits=await self.limits_enforced())
        await self._call(
            self.client.volumes.create, spec.volume, labels=dict(spec.labels)
        )
        container = await self._call(
            self.client.containers.create, spec.image, **options
        )
        logger.info("podman: created container %s (%s)", spec.name, container.short_id)
        return str(container.id)

    async def start(self, container_id: str, limits: Limits) -> None:
        container = await self._call(self._container, container_id)
        await self._call(container.start)
        # Podman 4.3 starts from the limits of create time: re-apply the current.
        await self.apply_limits(container_id, limits)
        logger.info("podman: started %s", container.name)

    async def stop(self, container_id: str, grace: int = 10) -> None:
        container = await self._call(self._container, container_id)
        # ignore: a container that is stopped already answers 304, not an error.
        await self._call(container.stop, timeout=grace, ignore=True)
        logger.info("podman: stopped %s", container.name)

    async def remove(self, container_id: str | None, volume: str | None) -> None:
        if container_id:
            try:
                container = await self._call(self._container, container_id)
                await self._call(container.remove, force=True)
                logger.info("podman: removed container %s", container.name)
            except ContainerNotFound:
                pass
        if volume and await self.volume_exists(volume):
            await self._call(self.client.volumes.remove, volume, force=True)
            logger.info("podman: removed volume %s", volume)

    async def inspect(self, container_id: str) -> ContainerInfo:
        container = await self._call(self._container, container_id)
        attrs = await self._call(lambda: container.inspect())
        return ContainerInfo.from_inspect(attrs)

    async def apply_limits(self, container_id: str, limits: Limits) -> None:
        if not await self.limits_enforced():
            return  # warned once in limits_enforced
        if not (await self.inspect(container_id)).running:
            return  # a stopped container has no cgroup; start applies the limits
        # libpod's update resets every field it is not sent: send the whole set.
        resources = {
            "memory": {"limit": limits.memory_bytes, "swap": limits.memory_bytes},
            "cpu": {"quota": limits.cpu_quota, "period": Limits.CPU_PERIOD},
            "pids": {"limit": limits.pids},
        }
        response = await self._call(
            self.client.api.post,
            f"/containers/{container_id}/update",
            data=json.dumps(resources),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code == 404:
            raise ContainerNotFound(container_id)
        if response.status_code >= 300:
            logger.warning(
                "podman update failed: %s %s", response.status_code, response.text[:500]
            )
            raise RuntimeFailure("The podman engine refused the new limits")
        logger.info("podman: applied limits to %s: %s", container_id[:12], limits)

    async def logs(self, container_id: str, tail: int = 200) -> str:
        container = await self._call(self._container, container_id)

        def read() -> bytes:
            output = container.logs(tail=tail, stream=False)
            return output if isinstance(output, bytes) else b"".join(output)

        return (await self._call(read)).decode(errors="replace")

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)
        if self.service is not None:
            await self.service.stop()


@hookimpl
def hostmgr_runtime(settings: Settings, name: str) -> Runtime | None:
    if name != "podman":
        return None
    options = settings.plugin_settings("runtime_podman")
    url = settings.option("runtime_podman", "url", "PODMAN_URL")
    if url:
        return PodmanRuntime(str(url))
    conf = options.get("containers_conf")
    service = PodmanService(
        settings.data_dir / "podman", Path(str(conf)) if conf else None
    )
    return PodmanRuntime(None, service)
