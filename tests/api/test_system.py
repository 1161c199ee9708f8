"""``/connection/test`` and ``/system/stats``."""

from __future__ import annotations

import socket

from hostmgr.api import schemas
from hostmgr.models import Instance, InstanceStatus, Role
from tests.conftest import make_user
from tests.shapes import assert_shape


async def test_connection_test_shape(client, admin, admin_headers):
    _, response = await client.get(
        "/api/integration/connection/test", headers=admin_headers
    )
    assert response.status == 200
    assert_shape(response.json, schemas.ConnectionTest)
    assert response.json["message"] == "Connection successful"
    assert response.json["hostname"] == socket.gethostname()
    assert response.json["user"] == {
        "id": admin.id,
        "name": admin.name,
        "email": "admin@example.com",
    }


async def _instance(owner, package, name, status):
    return await Instance.create(
        name=name,
        domain=f"{name}.hosted.test",
        user=owner,
        package=package,
        status=status,
        encryption_key="x",
    )


async def test_system_stats_shape_and_admin_counts(
    client, admin_headers, reseller, starter
):
    customer = await make_user(Role.USER, reseller=reseller)
    await make_user(Role.USER)
    await _instance(customer, starter, "one", InstanceStatus.RUNNING)
    await _instance(customer, starter, "two", InstanceStatus.STOPPED)
    await _instance(reseller, starter, "three", InstanceStatus.RUNNING)

    _, response = await client.get(
        "/api/integration/system/stats", headers=admin_headers
    )
    assert response.status == 200
    assert_shape(response.json, schemas.SystemStats)
    assert response.json["server_status"] == "online"
    assert response.json["counts"] == {
        "users": 2,
        "instances_total": 3,
        "instances_running": 2,
        "instances_stopped": 1,
    }


async def test_system_stats_reseller_sees_its_scope(
    client, reseller, reseller_headers, starter
):
    customer = await make_user(Role.USER, reseller=reseller)
    stranger = await make_user(Role.USER)
    await _instance(customer, starter, "mine", InstanceStatus.RUNNING)
    await _instance(stranger, starter, "theirs", InstanceStatus.RUNNING)
    await _instance(stranger, starter, "theirs-too", InstanceStatus.STOPPED)

    _, response = await client.get(
        "/api/integration/system/stats", headers=reseller_headers
    )
    assert response.status == 200
    assert response.json["counts"] == {
        "users": 1,
        "instances_total": 1,
        "instances_running": 1,
        "instances_stopped": 0,
    }


async def test_system_info_is_real(client, admin_headers):
    _, response = await client.get(
        "/api/integration/system/stats", headers=admin_headers
    )
    info = response.json["system_info"]
    assert info["hostname"] == socket.gethostname()
    assert info["kernel"] == __import__("platform").release()
    assert info["uptime"]
    assert all(value >= 0 for value in response.json["load_averages"].values())
