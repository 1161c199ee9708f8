"""Instances at their own domains: the API, a real engine and a real Caddy together."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from hostmgr.models import Instance, Package
from hostmgr.runtime import ContainerNotFound
from tests.client import AppClient
from tests.conftest import app_on_engine, make_settings
from tests.routing.conftest import eventually, through

API = "/api/integration"


@pytest.fixture
async def small(db: str) -> Package:
    return await Package.create(name="Small", cpu_cores=0.5, ram_gb=0.25, disk_gb=5)


@pytest.fixture
async def routed(tmp_path, db, caddy, standin_image) -> AsyncIterator[AppClient]:
    """The app on Docker, routing through the test's Caddy (TLS off)."""
    settings = make_settings(
        tmp_path,
        db,
        runtime="docker",
        image=standin_image,
        route_check_interval=1,
        **caddy.settings(),
    )
    async with app_on_engine(settings) as client:
        yield client


async def _create(client, admin_headers, name) -> str:
    _, response = await client.post(
        f"{API}/instances/create",
        json={"name": name, "package": "Small"},
        headers=admin_headers,
    )
    assert response.status == 201, response.json
    return str(response.json["domain"])


async def _action(client, admin_headers, name, action):
    _, response = await client.post(
        f"{API}/instances/{name}/{action}", headers=admin_headers
    )
    assert response.status == 200, response.json


async def test_a_domain_follows_the_instance_through_its_life(
    routed, caddy, http, admin_headers, small
):
    domain = await _create(routed, admin_headers, "Flow_One")
    assert domain == "flow-one.hosted.test"

    async def instance_answers():
        reply = await through(http, caddy, domain, "/healthz")
        assert reply.status_code == 200, reply.text
        return reply

    await eventually(instance_answers)

    await _action(routed, admin_headers, "Flow_One", "stop")
    stopped = await through(http, caddy, domain, "/healthz")
    assert stopped.status_code == 502
    assert "This instance is not running" in stopped.text

    await _action(routed, admin_headers, "Flow_One", "start")
    await eventually(instance_answers)

    await _action(routed, admin_headers, "Flow_One", "suspend")
    suspended = await through(http, caddy, domain, "/healthz")
    assert suspended.status_code == 503
    assert f"{domain} is suspended" in suspended.text

    await _action(routed, admin_headers, "Flow_One", "unsuspend")
    await eventually(instance_answers)

    instance = await Instance.get(name="Flow_One")
    await _action(routed, admin_headers, "Flow_One", "terminate")
    gone = await through(http, caddy, domain, "/healthz")
    assert gone.status_code == 404
    routes = caddy.config("apps/http/servers/hostmgr/routes")
    assert not [r for r in routes if domain in str(r.get("match"))]
    with pytest.raises(ContainerNotFound):
        await routed.app.ctx.runtime.inspect(instance.container_id)


async def test_a_restarted_empty_caddy_gets_every_route_back(
    routed, caddy, http, admin_headers, small
):
    domains = [await _create(routed, admin_headers, name) for name in ("one", "two")]
    await _action(routed, admin_headers, "two", "suspend")

    caddy.restart_empty()
    assert "apps" not in caddy.config()

    async def routes_are_back():
        first = await through(http, caddy, domains[0], "/healthz")
        assert first.status_code == 200
        second = await through(http, caddy, domains[1], "/healthz")
        assert second.status_code == 503  # still suspended, as the database says

    await eventually(routes_are_back)


async def test_create_with_the_proxy_down_is_503_and_leaves_nothing(
    routed, caddy, admin_headers, small
):
    caddy.stop()
    _, response = await routed.post(
        f"{API}/instances/create",
        json={"name": "unrouted", "package": "Small"},
        headers=admin_headers,
    )
    assert response.status == 503
    assert response.json == {
        "status": "error",
        "message": "The caddy proxy is unavailable",
    }
    assert not await Instance.filter(name="unrouted").exists()
    with pytest.raises(ContainerNotFound):
        await routed.app.ctx.runtime.inspect("hostmgr-unrouted")


async def test_a_proxy_outage_does_not_block_power_actions(
    routed, caddy, http, admin_headers, small
):
    domain = await _create(routed, admin_headers, "steady")
    caddy.stop()
    await _action(routed, admin_headers, "steady", "suspend")
    caddy.start()

    async def suspended_page():
        reply = await through(http, caddy, domain)
        assert reply.status_code == 503

    await eventually(suspended_page)


def test_doctor_reports_the_proxy(tmp_path, caddy, empty_database_url):
    env = {
        **os.environ,
        "HOSTMGR_DATA_DIR": str(tmp_path / "data"),
        "HOSTMGR_DATABASE_URL": empty_database_url,
        **{f"HOSTMGR_{key.upper()}": value for key, value in caddy.settings().items()},
    }
    env.pop("HOSTMGR_CONFIG", None)

    def doctor() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hostmgr", "doctor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    subprocess.run(
        [sys.executable, "-m", "hostmgr", "init"], env=env, check=True, timeout=60
    )
    healthy = doctor()
    assert (
        f"ok    proxy: Caddy's admin API answers at {caddy.admin_url}" in healthy.stdout
    )
    assert "fail  proxy: Caddy holds no hostmgr routes" in healthy.stdout
    assert healthy.returncode == 1  # no panel has given Caddy its routes yet

    caddy.stop()
    down = doctor()
    assert down.returncode == 1
    assert "fail  proxy: cannot reach Caddy's admin API" in down.stdout
    assert "fix: start Caddy" in down.stdout
    assert down.stderr.strip() == "Error: 1 problem found"
