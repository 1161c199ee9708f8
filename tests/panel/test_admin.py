"""The admin's pages over HTTP: packages, users, tokens and the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from hostmgr.models import ApiToken, AuditEntry, Instance, Package, Role, User
from hostmgr.security import digest
from tests.conftest import PASSWORD, app_on_engine, make_settings, make_user
from tests.panel.conftest import Visitor

SECRET = re.compile(r'id="new-secret"[^>]*value="(hm_[^"]+)"')


@pytest.fixture
async def admin_visitor(client, settings, admin) -> Visitor:
    visitor = Visitor(client, settings)
    await visitor.sign_in(admin)
    return visitor


async def follow(visitor: Visitor, response):
    assert response.status == 303, response.text[:500]
    return await visitor.get(response.headers["location"])


async def test_package_create_edit_and_deactivate(admin_visitor):
    fields = {"name": "Pro Plan", "cpu_cores": "2", "ram_gb": "1.5", "disk_gb": "20"}
    page = await follow(
        admin_visitor, await admin_visitor.post("/panel/admin/packages", fields)
    )
    assert "Created the package Pro Plan" in page.text
    package = await Package.get(name="Pro Plan")
    assert (package.cpu_cores, package.ram_gb, package.disk_gb) == (2, 1.5, 20)

    taken = await admin_visitor.post("/panel/admin/packages", fields)
    assert taken.status == 422
    assert "exists already" in taken.text
    bad = await admin_visitor.post(
        "/panel/admin/packages", {**fields, "name": "X", "cpu_cores": "0"}
    )
    assert bad.status == 422
    assert 'aria-invalid="true"' in bad.text
    assert await Package.filter(name="X").count() == 0

    edited = await admin_visitor.post(
        f"/panel/admin/packages/{package.id}", {**fields, "disk_gb": "30"}
    )
    assert "Saved the package" in (await follow(admin_visitor, edited)).text
    await package.refresh_from_db()
    assert package.disk_gb == 30

    await admin_visitor.post(f"/panel/admin/packages/{package.id}/deactivate")
    await package.refresh_from_db()
    assert not package.active
    await admin_visitor.post(f"/panel/admin/packages/{package.id}/activate")
    await package.refresh_from_db()
    assert package.active


async def test_user_create_edit_and_suspend(admin_visitor):
    reseller = await make_user(Role.RESELLER)
    form = {
        "name": "Dana Doe",
        "email": "Dana@Example.com",
        "password": "dana-password",
        "role": "user",
        "reseller": str(reseller.id),
        "instance_limit": "3",
    }
    page = await follow(
        admin_visitor, await admin_visitor.post("/panel/admin/users", form)
    )
    assert "Created the user Dana Doe" in page.text
    dana = await User.get(email="dana@example.com")
    assert (dana.role, dana.reseller_id, dana.instance_limit) == (
        Role.USER,
        reseller.id,
        3,
    )

    again = await admin_visitor.post("/panel/admin/users", form)
    assert again.status == 422
    assert "The email has already been taken." in again.text
    assert "dana-password" not in again.text

    await admin_visitor.post(
        f"/panel/admin/users/{dana.id}",
        {"name": "Dana D.", "email": dana.email, "username": dana.username},
    )
    await dana.refresh_from_db()
    assert (dana.name, dana.instance_limit) == ("Dana D.", None)

    await admin_visitor.post(f"/panel/admin/users/{dana.id}/suspend")
    await dana.refresh_from_db()
    assert dana.suspended
    await admin_visitor.post(f"/panel/admin/users/{dana.id}/unsuspend")
    await dana.refresh_from_db()
    assert not dana.suspended


async def test_resellers_are_created_on_their_page(admin_visitor):
    form = {"name": "Acme", "email": "ops@acme.example", "password": PASSWORD}
    page = await follow(
        admin_visitor, await admin_visitor.post("/panel/admin/resellers", form)
    )
    assert "Created the reseller Acme" in page.text
    assert (await User.get(email="ops@acme.example")).role == Role.RESELLER
    listing = await admin_visitor.get("/panel/admin/resellers")
    assert "ops@acme.example" in listing.text


async def test_admin_cannot_suspend_itself(admin_visitor, admin):
    response = await admin_visitor.post(f"/panel/admin/users/{admin.id}/suspend")
    assert (
        "cannot suspend your own account"
        in (await follow(admin_visitor, response)).text
    )
    await admin.refresh_from_db()
    assert not admin.suspended


async def test_a_new_token_is_shown_once_and_stored_as_a_hash(admin_visitor, admin):
    response = await admin_visitor.post(
        "/panel/admin/tokens",
        {
            "owner": str(admin.id),
            "name": "whmcs",
            "allowed_ips": "203.0.113.10, 2001:db8::/32",
            "expires": "30",
        },
    )
    assert "hm_" not in response.headers.get("location", "")
    shown = await follow(admin_visitor, response)
    secret = SECRET.search(shown.text).group(1)
    token = await ApiToken.get(name="whmcs")
    assert token.token_hash == digest(secret)
    assert token.allowed_ips == ["203.0.113.10/32", "2001:db8::/32"]
    assert token.expires_at - datetime.now(UTC) > timedelta(days=29)

    again = await admin_visitor.get("/panel/admin/tokens")
    assert secret not in again.text
    assert token.prefix in again.text

    _, api = await admin_visitor.client.get(
        "/api/integration/connection/test",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert api.status == 403  # the test client is not on the allow-list
    saved = await admin_visitor.post(
        f"/panel/admin/tokens/{token.id}/ips", {"allowed_ips": ""}
    )
    assert (
        "may now be used from any address" in (await follow(admin_visitor, saved)).text
    )
    _, api = await admin_visitor.client.get(
        "/api/integration/connection/test",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert api.status == 200

    await admin_visitor.post(f"/panel/admin/tokens/{token.id}/revoke")
    _, api = await admin_visitor.client.get(
        "/api/integration/connection/test",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert api.status == 401


async def test_tokens_refuse_bad_networks_and_customers(admin_visitor):
    customer = await make_user(Role.USER)
    bad = await admin_visitor.post(
        "/panel/admin/tokens",
        {"owner": str(customer.id), "name": "x", "allowed_ips": "not-an-ip"},
    )
    assert bad.status == 422
    assert "Choose an admin or a reseller." in bad.text
    assert not await ApiToken.exists()


async def test_audit_log_filters_and_pages(admin_visitor, admin):
    other = await make_user(Role.RESELLER)
    old = datetime(2026, 1, 15, 12, tzinfo=UTC)
    for number in range(120):
        await AuditEntry.create(
            user=admin if number % 2 else other,
            method="GET",
            path=f"/api/integration/instances/n{number}",
            ip="127.0.0.1",
            status=404 if number % 3 == 0 else 200,
            duration_ms=1.0,
        )
    await AuditEntry.filter(path="/api/integration/instances/n0").update(created_at=old)

    page = await admin_visitor.get("/panel/admin/audit")
    assert "120 entries; page 1 of 3." in page.text
    assert "Next page" in page.text and "Previous page" not in page.text
    last = await admin_visitor.get("/panel/admin/audit?page=3")
    assert "page 3 of 3" in last.text and "Next page" not in last.text

    by_user = await admin_visitor.get(f"/panel/admin/audit?user={other.username}")
    assert "60 entries" in by_user.text
    by_status = await admin_visitor.get("/panel/admin/audit?status=4xx")
    assert "40 entries" in by_status.text
    exact = await admin_visitor.get("/panel/admin/audit?status=404&path=/n9")
    # n9, n90..n99 with a number divisible by three: n9, n90, n93, n96, n99.
    assert "5 entries" in exact.text
    dated = await admin_visitor.get(
        "/panel/admin/audit?since=2026-01-15&until=2026-01-15"
    )
    assert "1 entry;" in dated.text and "/n0<" in dated.text

    bad = await admin_visitor.get("/panel/admin/audit?status=abc&since=yesterday")
    assert "A status such as 403" in bad.text and "A date such as" in bad.text
    assert "120 entries" in bad.text


async def test_package_edit_applies_new_limits_to_running_instances(
    tmp_path, db, standin_image, admin, admin_headers
):
    settings = make_settings(tmp_path, db, runtime="docker", image=standin_image)
    async with app_on_engine(settings) as client:
        await Package.create(name="Flex", cpu_cores=0.5, ram_gb=0.25, disk_gb=5)
        _, created = await client.post(
            "/api/integration/instances/create",
            json={"name": f"flex-{admin.id}-{tmp_path.name[-6:]}", "package": "Flex"},
            headers=admin_headers,
        )
        assert created.status == 201, created.text
        visitor = Visitor(client, settings)
        await visitor.sign_in(admin)
        package = await Package.get(name="Flex")

        response = await visitor.post(
            f"/panel/admin/packages/{package.id}",
            {"name": "Flex", "cpu_cores": "1", "ram_gb": "0.5", "disk_gb": "5"},
        )
        page = await follow(visitor, response)
        assert "not applied" not in page.text

        instance = await Instance.get(package_id=package.id)
        runtime = client.app.ctx.runtime
        info = await runtime.inspect(instance.container_id)
        assert info.memory_limit == 512 * 1024**2
        assert (info.cpu_quota, info.cpu_period) == (100_000, 100_000)
