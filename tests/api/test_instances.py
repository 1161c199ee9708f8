"""``/instances``: real containers on Docker and Podman behind the integration API."""

from __future__ import annotations

import uuid

import pytest

from hostmgr.api import schemas
from hostmgr.models import Instance, Package, Role
from hostmgr.runtime import ContainerNotFound
from hostmgr.services.instances import container_name, volume_name
from tests.conftest import bearer, make_token, make_user
from tests.runtime.conftest import wait_for_http
from tests.shapes import assert_shape

API = "/api/integration"
GiB = 1024**3


@pytest.fixture
async def plans(db):
    small = await Package.create(name="Small", cpu_cores=0.5, ram_gb=0.25, disk_gb=5)
    large = await Package.create(name="Large", cpu_cores=1, ram_gb=0.5, disk_gb=10)
    return small, large


def new_name() -> str:
    return f"n8n_{uuid.uuid4().hex[:8]}"


async def create(client, headers, **body):
    body.setdefault("name", new_name())
    body.setdefault("package", "Small")
    _, response = await client.post(
        f"{API}/instances/create", json=body, headers=headers
    )
    return response


async def runtime_of(client):
    return client.app.ctx.runtime


async def memory_limit_in_cgroup(client, instance: Instance) -> int:
    runtime = await runtime_of(client)
    info = await runtime.inspect(instance.container_id)
    return (await runtime.usage(info.pid)).memory_limit


async def test_create_runs_limited_container(engine_app, admin, admin_headers, plans):
    client = engine_app
    response = await create(client, admin_headers, name="My_Flow", version="1.0")
    assert response.status == 201, response.json
    assert_shape(response.json, schemas.InstanceCreated)
    assert response.json["domain"] == "my-flow.hosted.test"
    assert response.json["user_id"] == admin.id

    instance = await Instance.get(id=response.json["instance_id"])
    runtime = await runtime_of(client)
    info = await runtime.inspect(instance.container_id)
    assert info.running
    assert info.memory_limit == GiB // 4
    assert (info.cpu_quota, info.cpu_period) == (50_000, 100_000)
    assert info.host_port == instance.port
    assert "ok" in await wait_for_http(instance.port)
    assert await memory_limit_in_cgroup(client, instance) == GiB // 4

    _, stats = await client.get(f"{API}/instances/My_Flow/stats", headers=admin_headers)
    assert stats.status == 200
    assert_shape(stats.json, schemas.InstanceStatsOut)
    assert stats.json["instance_status"] == "running"
    assert stats.json["memory_limit"] == "256MiB"
    assert stats.json["memory_usage"].endswith(("KiB", "MiB"))
    assert 0 < stats.json["memory_percent"] < 100
    assert stats.json["cpu_percent"] >= 0

    _, listing = await client.get(f"{API}/instances", headers=admin_headers)
    assert_shape(listing.json, schemas.InstanceList)
    assert [i["name"] for i in listing.json["instances"]] == ["My_Flow"]


async def test_encryption_key_is_sealed_and_never_shown(
    engine_app, admin_headers, plans
):
    response = await create(engine_app, admin_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    _, listing = await engine_app.get(f"{API}/instances", headers=admin_headers)
    assert instance.encryption_key not in listing.text
    assert "encryption" not in listing.text.lower()
    assert len(instance.encryption_key) > 80  # a Fernet token, not the key


async def test_package_by_id_and_owner_by_email(
    engine_app, reseller, reseller_headers, plans
):
    customer = await make_user(Role.USER, reseller=reseller)
    response = await create(
        engine_app,
        reseller_headers,
        package=None,
        package_id=plans[1].id,
        email=customer.email,
    )
    assert response.status == 201, response.json
    instance = await Instance.get(id=response.json["instance_id"])
    assert (instance.user_id, instance.package_id) == (customer.id, plans[1].id)


async def test_reseller_cannot_create_for_a_stranger(
    engine_app, reseller_headers, plans
):
    stranger = await make_user(Role.USER)
    response = await create(engine_app, reseller_headers, email=stranger.email)
    assert response.status == 404
    assert not await Instance.exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "bad name!"}, 422, "name"),
        ({"name": "-x"}, 422, "name"),
        ({"package": None}, 422, "body"),
        ({"version": "1.0; rm -rf /"}, 422, "version"),
        ({"package": "Nope"}, 404, None),
    ],
)
async def test_bad_create_bodies(engine_app, admin_headers, plans, body, status, field):
    response = await create(engine_app, admin_headers, **body)
    assert response.status == status, response.json
    if field:
        assert field in response.json["errors"]
    assert not await Instance.exists()


async def test_duplicate_name_and_dns_form_are_refused(
    engine_app, admin_headers, plans
):
    assert (await create(engine_app, admin_headers, name="shop-flow")).status == 201
    for name in ("shop-flow", "Shop_Flow"):
        response = await create(engine_app, admin_headers, name=name)
        assert response.status == 422
        assert "name" in response.json["errors"]
    assert await Instance.all().count() == 1


async def test_instance_limit_is_403(engine_app, admin_headers, plans):
    user = await make_user(Role.USER)
    user.instance_limit = 1
    await user.save()
    assert (await create(engine_app, admin_headers, email=user.email)).status == 201
    response = await create(engine_app, admin_headers, email=user.email)
    assert response.status == 403
    assert "limit" in response.json["message"]


async def test_power_actions_really_happen(engine_app, admin_headers, plans):
    client = engine_app
    response = await create(client, admin_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    runtime = await runtime_of(client)
    name = instance.name

    _, stopped = await client.post(
        f"{API}/instances/{name}/stop", headers=admin_headers
    )
    assert stopped.status == 200 and stopped.json == {"status": "success"}
    assert not (await runtime.inspect(instance.container_id)).running
    _, stats = await client.get(f"{API}/instances/{name}/stats", headers=admin_headers)
    assert stats.json["instance_status"] == "stopped"

    _, started = await client.post(
        f"{API}/instances/{name}/start", headers=admin_headers
    )
    assert started.status == 200
    assert (await runtime.inspect(instance.container_id)).running
    await wait_for_http(instance.port)

    _, restarted = await client.post(
        f"{API}/instances/{name}/restart", headers=admin_headers
    )
    assert restarted.status == 200
    boots = await wait_for_http(instance.port, "/data/boot.log")
    assert len(boots.splitlines()) == 3


async def test_suspend_blocks_every_start(
    engine_app, admin_headers, reseller, reseller_headers, plans
):
    client = engine_app
    response = await create(client, reseller_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    runtime = await runtime_of(client)
    url = f"{API}/instances/{instance.name}"
    # Read once first: the instance is kept for stats, and a suspension must
    # show at once all the same.
    _, stats = await client.get(f"{url}/stats", headers=admin_headers)
    assert stats.json["instance_status"] == "running"

    _, suspended = await client.post(
        f"{url}/suspend", json={"reason": "Unpaid invoice"}, headers=admin_headers
    )
    assert suspended.status == 200
    assert not (await runtime.inspect(instance.container_id)).running
    for headers in (admin_headers, reseller_headers):
        for action in ("start", "restart"):
            _, refused = await client.post(f"{url}/{action}", headers=headers)
            assert refused.status == 403
            assert "Unpaid invoice" in refused.json["message"]
    assert not (await runtime.inspect(instance.container_id)).running
    _, stats = await client.get(f"{url}/stats", headers=admin_headers)
    assert stats.json["instance_status"] == "suspended"

    _, back = await client.post(f"{url}/unsuspend", headers=reseller_headers)
    assert back.status == 200
    assert (await runtime.inspect(instance.container_id)).running
    await wait_for_http(instance.port)


async def test_upgrade_is_live_and_lasts(engine_app, admin_headers, plans):
    client = engine_app
    response = await create(client, admin_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    url = f"{API}/instances/{instance.name}"
    await wait_for_http(instance.port)
    started_at = (await runtime_of(client)).usage

    _, upgraded = await client.post(
        f"{url}/upgrade", json={"package": "Large"}, headers=admin_headers
    )
    assert upgraded.status == 200
    assert_shape(upgraded.json, schemas.UpgradeResult)
    assert upgraded.json["new_package"] == "Large"
    fresh = await Instance.get(id=instance.id)
    assert fresh.container_id == instance.container_id
    assert await memory_limit_in_cgroup(client, fresh) == GiB // 2
    boots = await wait_for_http(instance.port, "/data/boot.log")
    assert len(boots.splitlines()) == 1  # no restart happened
    del started_at

    for first, second in (("stop", "start"), ("suspend", "unsuspend")):
        await client.post(f"{url}/{first}", headers=admin_headers)
        _, again = await client.post(f"{url}/{second}", headers=admin_headers)
        assert again.status == 200
        await wait_for_http(instance.port)
        assert await memory_limit_in_cgroup(client, fresh) == GiB // 2, first
    boots = await wait_for_http(instance.port, "/data/boot.log")
    assert len(boots.splitlines()) == 3  # the volume kept every boot


async def test_upgrade_while_stopped_holds_at_start(engine_app, admin_headers, plans):
    client = engine_app
    response = await create(client, admin_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    url = f"{API}/instances/{instance.name}"
    await client.post(f"{url}/stop", headers=admin_headers)
    _, upgraded = await client.post(
        f"{url}/upgrade", json={"package_id": plans[1].id}, headers=admin_headers
    )
    assert upgraded.status == 200
    await client.post(f"{url}/start", headers=admin_headers)
    assert await memory_limit_in_cgroup(client, instance) == GiB // 2


async def test_terminate_leaves_nothing(engine_app, admin_headers, plans):
    client = engine_app
    response = await create(client, admin_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    runtime = await runtime_of(client)
    _, done = await client.post(
        f"{API}/instances/{instance.name}/terminate", headers=admin_headers
    )
    assert done.status == 200
    with pytest.raises(ContainerNotFound):
        await runtime.inspect(instance.container_id)
    with pytest.raises(ContainerNotFound):
        await runtime.inspect(container_name(instance))
    assert not await runtime.volume_exists(volume_name(instance))
    assert not await Instance.exists(id=instance.id)
    _, gone = await client.get(
        f"{API}/instances/{instance.name}/stats", headers=admin_headers
    )
    assert gone.status == 404


async def test_resellers_reach_only_their_instances(
    engine_app, admin_headers, reseller_headers, plans
):
    client = engine_app
    other = await make_user(Role.RESELLER)
    theirs = await create(client, bearer(await make_token(other)))
    name = (await Instance.get(id=theirs.json["instance_id"])).name
    for action in (
        "start",
        "stop",
        "restart",
        "suspend",
        "unsuspend",
        "terminate",
        "upgrade",
    ):
        _, response = await client.post(
            f"{API}/instances/{name}/{action}",
            json={"package": "Large"},
            headers=reseller_headers,
        )
        assert response.status == 404, action
    _, response = await client.get(
        f"{API}/instances/{name}/stats", headers=reseller_headers
    )
    assert response.status == 404
    _, listing = await client.get(f"{API}/instances", headers=reseller_headers)
    assert listing.json["instances"] == []
    assert (await Instance.get(name=name)).status == "running"


async def test_suspending_a_reseller_suspends_its_instances(
    engine_app, admin_headers, reseller, reseller_headers, plans
):
    client = engine_app
    runtime = await runtime_of(client)
    customer = await make_user(Role.USER, reseller=reseller)
    own = await create(client, reseller_headers)
    theirs = await create(client, reseller_headers, email=customer.email)
    unpaid = await create(client, reseller_headers, email=customer.email)
    unpaid_name = (await Instance.get(id=unpaid.json["instance_id"])).name
    await client.post(
        f"{API}/instances/{unpaid_name}/suspend",
        json={"reason": "Unpaid invoice"},
        headers=admin_headers,
    )

    url = f"{API}/resellers/{reseller.username}"
    _, response = await client.post(f"{url}/suspend", headers=admin_headers)
    assert response.status == 200
    for created in (own, theirs):
        instance = await Instance.get(id=created.json["instance_id"])
        assert instance.suspended
        assert not (await runtime.inspect(instance.container_id)).running

    _, response = await client.post(f"{url}/unsuspend", headers=admin_headers)
    assert response.status == 200
    for created in (own, theirs):
        instance = await Instance.get(id=created.json["instance_id"])
        assert not instance.suspended
        assert (await runtime.inspect(instance.container_id)).running
    still = await Instance.get(name=unpaid_name)
    assert still.suspended and still.suspend_reason == "Unpaid invoice"
