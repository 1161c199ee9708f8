"""``/usage``: traffic and disk of real containers, measured on both engines."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from hostmgr.api import schemas
from hostmgr.models import Instance, InstanceUsage
from hostmgr.services import usage
from hostmgr.services.instances import volume_name
from tests.api.test_instances import create, plans  # noqa: F401 - a fixture
from tests.conftest import bearer, make_token, make_user
from tests.runtime.conftest import wait_for_http
from tests.shapes import assert_shape

API = "/api/integration"
MiB = 1024 * 1024


async def fill_volume(client, instance: Instance, size: int) -> None:
    """Write ``size`` bytes into the data volume, as n8n would, from the host."""
    path = await client.app.ctx.runtime.volume_path(volume_name(instance))
    target = Path(path) / "payload.bin"
    await asyncio.to_thread(target.write_bytes, os.urandom(size))
    await asyncio.to_thread(os.chown, target, 1000, 1000)


async def download(port: int, path: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}{path}", timeout=10)
    assert response.status_code == 200
    return len(response.content)


async def test_traffic_and_disk_are_measured(engine_app, admin_headers, plans):  # noqa: F811
    client = engine_app
    response = await create(client, admin_headers)
    assert response.status == 201, response.json
    instance = await Instance.get(id=response.json["instance_id"]).select_related(
        "package"
    )
    await wait_for_http(instance.port)
    await fill_volume(client, instance, 3 * MiB)

    meter = client.app.ctx.usage
    await meter.meter(instance)  # the counters to measure from
    sent = await download(instance.port, "/data/payload.bin")
    await meter.meter(await Instance.get(id=instance.id).select_related("package"))

    _, response = await client.get(
        f"{API}/instances/{instance.name}/usage", headers=admin_headers
    )
    assert response.status == 200, response.json
    assert_shape(response.json, schemas.InstanceUsageOut)
    body = response.json
    assert body["period"] == usage.current_period()
    assert body["disk_usage_mb"] >= 3
    assert body["disk_limit_mb"] == 5 * 1024
    assert body["bandwidth_out_mb"] >= sent / MiB * 0.99
    assert body["bandwidth_mb"] == pytest.approx(
        body["bandwidth_in_mb"] + body["bandwidth_out_mb"], abs=0.02
    )


async def test_a_restart_loses_no_traffic(engine_app, admin_headers, plans):  # noqa: F811
    client = engine_app
    response = await create(client, admin_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    await wait_for_http(instance.port)
    await fill_volume(client, instance, 1 * MiB)
    meter = client.app.ctx.usage

    await meter.meter(await Instance.get(id=instance.id), with_disk=False)
    await download(instance.port, "/data/payload.bin")
    await meter.meter(await Instance.get(id=instance.id), with_disk=False)
    before = await InstanceUsage.get(instance_id=instance.id)

    for action in ("stop", "start"):
        _, response = await client.post(
            f"{API}/instances/{instance.name}/{action}", headers=admin_headers
        )
        assert response.status == 200, response.json
    await wait_for_http(instance.port)
    await download(instance.port, "/data/payload.bin")
    await meter.meter(await Instance.get(id=instance.id), with_disk=False)

    after = await InstanceUsage.get(instance_id=instance.id)
    assert after.tx_bytes >= before.tx_bytes + MiB


async def test_a_stale_round_counts_nothing(engine_app, admin_headers, plans):  # noqa: F811
    """Two workers reading the same counters: only the first one's read counts."""
    client = engine_app
    response = await create(client, admin_headers)
    instance = await Instance.get(id=response.json["instance_id"])
    await wait_for_http(instance.port)
    pid = await client.app.ctx.stats.pid_of(instance.container_id)
    seen = await asyncio.to_thread(usage.read_traffic, pid)

    snapshot = await Instance.get(id=instance.id)
    assert await usage.record_traffic(snapshot, seen)
    assert not await usage.record_traffic(snapshot, seen)
    row = await InstanceUsage.get(instance_id=instance.id)
    assert row.rx_bytes + row.tx_bytes == seen.rx_bytes + seen.tx_bytes


async def test_report_is_scoped_and_validated(
    engine_app,
    admin_headers,
    reseller,
    reseller_headers,
    plans,  # noqa: F811
):
    client = engine_app
    customer = await make_user(reseller=reseller)
    mine = await create(client, reseller_headers, email=customer.email)
    other = await create(client, admin_headers)
    assert (mine.status, other.status) == (201, 201)

    _, response = await client.get(f"{API}/usage", headers=reseller_headers)
    assert response.status == 200, response.json
    assert_shape(response.json, schemas.UsageReport)
    assert [i["domain"] for i in response.json["instances"]] == [mine.json["domain"]]

    _, response = await client.get(f"{API}/usage", headers=admin_headers)
    domains = {i["domain"] for i in response.json["instances"]}
    assert domains == {mine.json["domain"], other.json["domain"]}

    _, response = await client.get(
        f"{API}/usage", params={"period": "2026-13"}, headers=admin_headers
    )
    assert response.status == 422
    assert "period" in response.json["errors"]

    _, response = await client.get(
        f"{API}/usage", params={"period": "2001-01"}, headers=admin_headers
    )
    assert all(i["bandwidth_mb"] == 0 for i in response.json["instances"])

    stranger = bearer(await make_token(await make_user()))
    _, response = await client.get(f"{API}/usage", headers=stranger)
    assert response.status == 403
