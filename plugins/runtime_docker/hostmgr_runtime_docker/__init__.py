"""The Docker runtime: instances as containers of the local Docker Engine.

Settings, in ``[plugins.runtime_docker]`` or the environment:

- ``url`` / ``HOSTMGR_DOCKER_URL``: the engine's API address, default ``DOCKER_HOST``
  or ``unix:///var/run/docker.sock``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container

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

logger = logging.getLogger(__name__)
T = TypeVar("T")

API_VERSION = "1.41"
SDK_ERRORS = SdkErrors(
    not_found=docker.errors.NotFound,
    image_not_found=docker.errors.ImageNotFound,
    api_error=docker.errors.APIError,
    unreachable=(requests.exceptions.ConnectionError, requests.exceptions.Timeout),
    bad_answer=(requests.exceptions.RequestException, docker.errors.DockerException),
)
# Every call but a stop must answer within this; a stop gets its own grace on top.
CALL_TIMEOUT = 5


class DockerRuntime(Runtime):
    name = "docker"

    def __init__(self, url: str) -> None:
        self.url = url
        # A fixed API version: "auto" would call the engine in the constructor.
        self.client = docker.DockerClient(
            base_url=url, version=API_VERSION, timeout=CALL_TIMEOUT
        )

    async def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with translated_errors(self.name, SDK_ERRORS):
            return await asyncio.to_thread(func, *args, **kwargs)

    def _container(self, container_id: str) -> Container:
        return self.client.containers.get(container_id)

    async def ping(self) -> None:
        await self._call(self.client.ping)

    async def volume_exists(self, volume: str) -> bool:
        try:
            await self._call(self.client.volumes.get, volume)
        except ContainerNotFound:
            return False
        return True

    async def volume_path(self, volume: str) -> str:
        found = await self._call(self.client.volumes.get, volume)
        return str(found.attrs["Mountpoint"])

    async def _ensure_image(self, image: str) -> None:
        try:
            await self._call(self.client.images.get, image)
            return
        except ImageUnavailable:
            pass
        repository, _, tag = image.rpartition(":")
        logger.info("docker: pulling %s", image)
        try:
            await self._call(self.client.images.pull, repository, tag=tag)
        except RuntimeFailure as exc:
            if isinstance(exc, RuntimeUnavailable) and "pull" not in exc.detail:
                raise
            raise ImageUnavailable(image) from exc

    async def create(self, spec: ContainerSpec) -> str:
        await self._ensure_image(spec.image)
        if await self.volume_exists(spec.volume):
            raise NameConflict(spec.volume)
        await self._call(
            self.client.volumes.create, spec.volume, labels=dict(spec.labels)
        )
        container = await self._call(
            self.client.containers.create, spec.image, **create_options(spec)
        )
        logger.info("docker: created container %s (%s)", spec.name, container.short_id)
        return str(container.id)

    async def start(self, container_id: str, limits: Limits) -> None:
        # Docker keeps limits changed by update across restarts: nothing to re-apply.
        container = await self._call(self._container, container_id)
        await self._call(container.start)
        logger.info("docker: started %s", container.name)

    async def stop(self, container_id: str, grace: int = 10) -> None:
        container = await self._call(self._container, container_id)
        await self._call(container.stop, timeout=grace)
        logger.info("docker: stopped %s", container.name)

    async def remove(self, container_id: str | None, volume: str | None) -> None:
        if container_id:
            try:
                container = await self._call(self._container, container_id)
                await self._call(container.remove, force=True)
                logger.info("docker: removed container %s", container.name)
            except ContainerNotFound:
                pass
        if volume:
            try:
                found = await self._call(self.client.volumes.get, volume)
                await self._call(found.remove, force=True)
                logger.info("docker: removed volume %s", volume)
            except ContainerNotFound:
                pass

    async def inspect(self, container_id: str) -> ContainerInfo:
        container = await self._call(self._container, container_id)
        attrs = container.attrs
        return ContainerInfo.from_inspect(attrs)

    async def apply_limits(self, container_id: str, limits: Limits) -> None:
        container = await self._call(self._container, container_id)
        await self._call(
            container.update,
            mem_limit=limits.memory_bytes,
            memswap_limit=limits.memory_bytes,
            cpu_period=Limits.CPU_PERIOD,
            cpu_quota=limits.cpu_quota,
        )
        logger.info("docker: applied limits to %s: %s", container.name, limits)

    async def logs(self, container_id: str, tail: int = 200) -> str:
        container = await self._call(self._container, container_id)
        raw = await self._call(container.logs, tail=tail)
        return bytes(raw).decode(errors="replace")

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)


def docker_url(settings: Settings) -> str:
    return str(
        settings.option("runtime_docker", "url", "DOCKER_URL")
        or os.environ.get("DOCKER_HOST")
        or "unix:///var/run/docker.sock"
    )


@hookimpl
def hostmgr_runtime(settings: Settings, name: str) -> Runtime | None:
    if name != "docker":
        return None
    return DockerRuntime(docker_url(settings))
