"""Failure: a create that fails part-way, engines that are down, and races."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from hostmgr.app import create_app
from hostmgr.errors import ValidationFailed
from hostmgr.models import Instance, InstanceStatus, Package
from hostmgr.plugins import create_plugin_manager
from hostmgr.runtime import ContainerNotFound, RuntimeFailure
from hostmgr.services.instances import container_name, volume_name
from hostmgr.services.locks import instance_lock
from hostmgr.services.secretbox import seal
from tests.conftest import make_settings, started

API = "/api/integration"
STEPS = ("row", "port", "container", "start", "running")


class Injected(Exception):
    """The failure a test plants at one create step."""


@pytest.fixture
async def small(db):
    return await Package.create(name="Small", cpu_cores=0.5, ram_gb=0.25, disk_gb=5)


async def _assert_nothing_left(runtime, name: str) -> None:
    probe = Instance(name=name)
    with pytest.raises(ContainerNotFound):
        await runtime.inspect(container_name(probe))
    assert not await runtime.volume_exists(volume_name(probe))
    assert not await Instance.filter(name=name).exists()


@pytest.mark.parametrize("step", STEPS)
async def test_failed_create_removes_what_it_made(engine_app, admin, small, step):
    service = engine_app.app.ctx.instances
    name = f"fail-{step}-{uuid.uuid4().hex[:6]}"

    async def checkpoint(reached: str) -> None:
        if reached == step:
            raise Injected(step)

    with pytest.raises(Injected):
        await service.create(
            name=name,
            owner=admin,
            package=small,
            version="latest",
            checkpoint=checkpoint,
        )
    await _assert_nothing_left(engine_app.app.ctx.runtime, name)


async def test_engine_failure_inside_create_cleans_up(
    engine_app, admin, small, monkeypatch
):
    runtime = engine_app.app.ctx.runtime
    service = engine_app.app.ctx.instances

    async def broken_start(container_id, limits):
        raise RuntimeFailure("The engine refused the request")

    monkeypatch.setattr(runtime, "start", broken_start)
    name = f"engine-fail-{uuid.uuid4().hex[:6]}"
    with pytest.raises(RuntimeFailure):
        await service.create(name=name, owner=admin, package=small, version="latest")
    await _assert_nothing_left(runtime, name)


async def test_missing_image_version_fails_cleanly(engine_app, admin_headers, small):
    _, response = await engine_app.post(
        f"{API}/instances/create",
        json={"name": "no-such-version", "package": "Small", "version": "9.9.9"},
        headers=admin_headers,
    )
    assert response.status == 422
    assert response.json["errors"] == {
        "version": ["Version 9.9.9 is not available on this server."]
    }
    await _assert_nothing_left(engine_app.app.ctx.runtime, "no-such-version")


async def test_two_creates_of_one_name_one_wins(engine_app, admin_headers, small):
    body = {"name": f"race-{uuid.uuid4().hex[:6]}", "package": "Small"}
    results = await asyncio.gather(
        engine_app.post(f"{API}/instances/create", json=body, headers=admin_headers),
        engine_app.post(f"{API}/instances/create", json=body, headers=admin_headers),
    )
    statuses = sorted(response.status for _, response in results)
    assert statuses == [201, 422]
    instance = await Instance.get(name=body["name"])
    assert (await engine_app.app.ctx.runtime.inspect(instance.container_id)).running


async def test_concurrent_actions_run_one_at_a_time(engine_app, admin_headers, small):
    _, response = await engine_app.post(
        f"{API}/instances/create",
        json={"name": "busy", "package": "Small"},
        headers=admin_headers,
    )
    url = f"{API}/instances/busy"
    results = await asyncio.gather(
        *(
            engine_app.post(f"{url}/{action}", headers=admin_headers)
            for action in ("stop", "start", "restart", "stop", "start")
        )
    )
    assert [r.status for _, r in results] == [200] * 5, [r.json for _, r in results]
    instance = await Instance.get(name="busy")
    info = await engine_app.app.ctx.runtime.inspect(instance.container_id)
    assert info.running == (instance.status == InstanceStatus.RUNNING)


async def test_lease_excludes_a_second_holder(db, small, admin):
    instance = await Instance.create(
        name="leased",
        domain="leased.hosted.test",
        user=admin,
        package=small,
        encryption_key="x",
    )
    spans: list[tuple[str, str]] = []

    async def hold(label: str) -> None:
        async with instance_lock(instance.id):
            spans.append(("enter", label))
            await asyncio.sleep(0.2)
            spans.append(("exit", label))

    await asyncio.gather(hold("a"), hold("b"))
    assert [kind for kind, _ in spans] == ["enter", "exit", "enter", "exit"]
    assert spans[0][1] == spans[1][1]


def _engine_url(engine: str, url: str) -> dict[str, str]:
    return {f"{engine}_url": url}


async def _app_for(tmp_path, db, engine, standin_image, env):
    settings = make_settings(tmp_path, db, runtime=engine, image=standin_image, **env)
    return create_app(
        settings,
        create_plugin_manager(),
        manage_db=False,
        name=f"down_{uuid.uuid4().hex[:6]}",
    )


async def test_engine_down_is_503_and_writes_nothing(
    tmp_path, db, engine, admin, admin_headers, small, standin_image
):
    app = await _app_for(
        tmp_path,
        db,
        engine,
        standin_image,
        _engine_url(engine, f"unix://{tmp_path / 'engine-is-down.sock'}"),
    )
    existing = await Instance.create(
        name="existing",
        domain="existing.hosted.test",
        user=admin,
        package=small,
        status=InstanceStatus.RUNNING,
        container_id="abc",
        encryption_key=seal(app.ctx.settings.secret_key, "k"),
    )
    async with started(app) as client:
        _, response = await client.post(
            f"{API}/instances/create",
            json={"name": "new-one", "package": "Small"},
            headers=admin_headers,
        )
        assert response.status == 503
        assert response.json == {
            "status": "error",
            "message": f"The {engine} engine is unavailable",
        }
        _, stop = await client.post(
            f"{API}/instances/existing/stop", headers=admin_headers
        )
        assert stop.status == 503
    assert not await Instance.filter(name="new-one").exists()
    assert (await Instance.get(id=existing.id)).status == InstanceStatus.RUNNING


async def test_hung_engine_is_503_not_a_hang(
    tmp_path, db, engine, admin_headers, small, standin_image
):
    """An engine that accepts connections and never answers."""
    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(16)
    env = _engine_url(engine, f"unix://{path}")
    app = await _app_for(tmp_path, db, engine, standin_image, env)
    try:
        async with started(app) as client:
            _, response = await asyncio.wait_for(
                client.post(
                    f"{API}/instances/create",
                    json={"name": "hung", "package": "Small"},
                    headers=admin_headers,
                ),
                timeout=60,  # a guard against a hang, not a measurement
            )
        assert response.status == 503
        assert engine in response.json["message"]
        assert not await Instance.exists()
    finally:
        server.close()


async def test_duplicate_name_from_service_is_validation_error(
    engine_app, admin, small
):
    service = engine_app.app.ctx.instances
    await service.create(name="twice", owner=admin, package=small, version="latest")
    with pytest.raises(ValidationFailed):
        await service.create(name="twice", owner=admin, package=small, version="latest")
