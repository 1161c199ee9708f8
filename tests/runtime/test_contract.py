"""The runtime contract, run unchanged against real Docker and real Podman."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hostmgr import cgroups
from hostmgr.runtime import (
    ContainerNotFound,
    ContainerSpec,
    Limits,
    NameConflict,
    Runtime,
    RuntimeUnavailable,
)
from tests.runtime.conftest import unique_name, wait_for_http
from tests.standin import IMAGE

MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spec(name: str, *, cpu: float = 0.5, memory: int = 256 * MiB) -> ContainerSpec:
    return ContainerSpec(
        name=name,
        image=f"{IMAGE}:latest",
        volume=name,
        host_port=free_port(),
        limits=Limits(cpu_cores=cpu, memory_bytes=memory, pids=256),
        env={"N8N_HOST": f"{name}.hosted.test", "N8N_DIAGNOSTICS_ENABLED": "false"},
        labels={"hostmgr.instance": name},
    )


async def _create(runtime: Runtime, **kwargs: object) -> tuple[str, ContainerSpec]:
    container_spec = spec(unique_name(), **kwargs)
    runtime.created.append(container_spec.name)  # type: ignore[attr-defined]
    return await runtime.create(container_spec), container_spec


async def _cgroup_limit(runtime: Runtime, container_id: str) -> int:
    info = await runtime.inspect(container_id)
    assert info.pid, "container is not running"
    return (await runtime.usage(info.pid)).memory_limit


async def test_create_with_limits_shows_in_inspect(runtime):
    container_id, container_spec = await _create(runtime, cpu=0.5, memory=256 * MiB)
    info = await runtime.inspect(container_id)
    assert info.id == container_id
    assert info.name == container_spec.name
    assert not info.running
    assert info.memory_limit == 256 * MiB
    assert (info.cpu_quota, info.cpu_period) == (50_000, 100_000)
    assert info.host_port == container_spec.host_port
    assert info.volume == container_spec.volume
    assert await runtime.volume_exists(container_spec.volume)


async def test_start_stop_and_start_again(runtime):
    container_id, container_spec = await _create(runtime)
    await runtime.start(container_id, container_spec.limits)
    assert (await runtime.inspect(container_id)).running
    assert "ok" in await wait_for_http(container_spec.host_port)
    assert await _cgroup_limit(runtime, container_id) == 256 * MiB

    await runtime.stop(container_id, grace=5)
    info = await runtime.inspect(container_id)
    assert not info.running and info.pid is None

    await runtime.start(container_id, container_spec.limits)
    await wait_for_http(container_spec.host_port)
    boots = await wait_for_http(container_spec.host_port, "/data/boot.log")
    assert len(boots.splitlines()) == 2  # the data volume kept the first boot


async def test_open_cgroup_files_go_stale_when_the_container_stops(runtime):
    container_id, container_spec = await _create(runtime)
    await runtime.start(container_id, container_spec.limits)
    info = await runtime.inspect(container_id)
    files = cgroups.CgroupFiles(info.pid, container_id)
    try:
        assert files.read().memory_limit == 256 * MiB

        await runtime.stop(container_id, grace=5)
        await runtime.start(container_id, container_spec.limits)
        # The restart made a new cgroup at the same path: the old handles must
        # not read it, and new ones must.
        with pytest.raises(cgroups.CgroupGone):
            files.read()
        info = await runtime.inspect(container_id)
        fresh = cgroups.CgroupFiles(info.pid, container_id)
        assert fresh.read().memory_limit == 256 * MiB
        fresh.close()
        with pytest.raises(cgroups.CgroupGone):
            cgroups.CgroupFiles(info.pid, "another-container")
    finally:
        files.close()


async def test_port_is_published_on_loopback_only(runtime):
    container_id, container_spec = await _create(runtime)
    await runtime.start(container_id, container_spec.limits)
    await wait_for_http(container_spec.host_port)
    # Only 127.0.0.1 is bound: the port is free on every other local address.
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
    assert (await runtime.inspect(container_id)).host_port == container_spec.host_port


async def test_new_limits_apply_live_and_last(runtime):
    container_id, container_spec = await _create(runtime, cpu=0.5, memory=256 * MiB)
    await runtime.start(container_id, container_spec.limits)
    await wait_for_http(container_spec.host_port)

    bigger = Limits(cpu_cores=1.0, memory_bytes=512 * MiB, pids=256)
    await runtime.apply_limits(container_id, bigger)
    assert await _cgroup_limit(runtime, container_id) == 512 * MiB
    assert (await runtime.inspect(container_id)).id == container_id

    await runtime.stop(container_id, grace=5)
    await runtime.start(container_id, bigger)
    await wait_for_http(container_spec.host_port)
    assert await _cgroup_limit(runtime, container_id) == 512 * MiB
    boots = await wait_for_http(container_spec.host_port, "/data/boot.log")
    assert len(boots.splitlines()) == 2


async def test_usage_and_logs(runtime):
    container_id, container_spec = await _create(runtime)
    await runtime.start(container_id, container_spec.limits)
    await wait_for_http(container_spec.host_port)
    info = await runtime.inspect(container_id)
    first = await runtime.usage(info.pid)
    await wait_for_http(container_spec.host_port)
    second = await runtime.usage(info.pid)
    assert 0 < first.memory_bytes < 256 * MiB
    assert first.memory_limit == 256 * MiB
    assert second.cpu_ns >= first.cpu_ns > 0
    assert cgroups.cpu_percent(first, second) >= 0
    assert "stand-in n8n listening on 5678" in await runtime.logs(container_id)


async def test_volume_path_holds_the_container_data(runtime):
    container_id, container_spec = await _create(runtime)
    await runtime.start(container_id, container_spec.limits)
    await wait_for_http(container_spec.host_port)

    path = Path(await runtime.volume_path(container_spec.volume))
    # The stand-in writes boot.log into its data directory at every start.
    assert "boot " in (path / "boot.log").read_text()


async def test_remove_deletes_container_and_volume(runtime):
    container_id, container_spec = await _create(runtime)
    await runtime.start(container_id, container_spec.limits)
    await runtime.remove(container_id, container_spec.volume)
    with pytest.raises(ContainerNotFound):
        await runtime.inspect(container_id)
    assert not await runtime.volume_exists(container_spec.volume)
    await runtime.remove(container_id, container_spec.volume)  # gone already: no error


async def test_name_clash_is_typed(runtime):
    _, container_spec = await _create(runtime)
    with pytest.raises(NameConflict):
        await runtime.create(container_spec)


async def test_missing_container_is_typed(runtime):
    missing = "hmtest-missing-" + unique_name()
    limits = Limits(cpu_cores=1, memory_bytes=256 * MiB)
    for call in (
        runtime.inspect(missing),
        runtime.start(missing, limits),
        runtime.stop(missing),
        runtime.apply_limits(missing, limits),
        runtime.logs(missing),
        runtime.volume_path(missing),
    ):
        with pytest.raises(ContainerNotFound):
            await call


@pytest.mark.parametrize("engine", ["docker", "podman"])
async def test_engine_down_is_unavailable(engine, tmp_path):
    from hostmgr_runtime_docker import DockerRuntime
    from hostmgr_runtime_podman import PodmanRuntime

    url = f"unix://{tmp_path / 'no-such.sock'}"
    runtime = DockerRuntime(url) if engine == "docker" else PodmanRuntime(url)
    with pytest.raises(RuntimeUnavailable) as info:
        await runtime.ping()
    assert info.value.engine == engine
    assert info.value.status_code == 503
    assert engine in info.value.message
