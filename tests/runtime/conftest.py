"""Real engines for the runtime contract: Docker and Podman, both as root."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hostmgr_runtime_docker import DockerRuntime
from hostmgr_runtime_podman import PodmanRuntime
from hostmgr_runtime_podman.service import PodmanService

from hostmgr.runtime import Runtime

DOCKER_URL = os.environ.get("HOSTMGR_DOCKER_URL", "unix:///var/run/docker.sock")
ENGINES = ["docker", "podman"]


def make_runtime(engine: str, podman_state: Path) -> Runtime:
    if engine == "docker":
        return DockerRuntime(DOCKER_URL)
    service = PodmanService(podman_state, podman_state / "containers.conf")
    return PodmanRuntime(None, service)


@pytest.fixture(params=ENGINES)
async def runtime(
    request: pytest.FixtureRequest, podman_state: Path, standin_image: str
) -> AsyncIterator[Runtime]:
    runtime = make_runtime(request.param, podman_state)
    created: list[str] = []
    runtime.created = created  # type: ignore[attr-defined]
    yield runtime
    for name in created:
        await runtime.remove(name, name)
    await runtime.close()


def unique_name() -> str:
    return f"hmtest-{uuid.uuid4().hex[:10]}"


async def wait_for_http(port: int, path: str = "/healthz", within: float = 15) -> str:
    import httpx

    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient() as client:
        while True:
            try:
                response = await client.get(f"http://127.0.0.1:{port}{path}", timeout=1)
                if response.status_code == 200:
                    return response.text
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing answered on 127.0.0.1:{port}{path}")
            await asyncio.sleep(0.1)
