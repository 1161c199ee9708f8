"""``/packages`` and ``/packages/{id or name}``."""

from __future__ import annotations

from hostmgr.api import schemas
from hostmgr.models import Package
from tests.shapes import assert_shape


async def test_list_packages_shape(client, admin_headers, starter):
    await Package.create(name="Retired", cpu_cores=1, ram_gb=1, disk_gb=1, active=False)
    _, response = await client.get("/api/integration/packages", headers=admin_headers)
    assert response.status == 200
    assert_shape(response.json, schemas.PackageList)
    assert response.json["packages"] == [
        {
            "id": starter.id,
            "name": "Starter",
            "cpu_limit": 1.0,
            "ram_limit": 1.0,
            "disk_limit": 10,
        }
    ]


async def test_package_by_id_and_by_name(client, reseller_headers, starter):
    for ref in (str(starter.id), "Starter"):
        _, response = await client.get(
            f"/api/integration/packages/{ref}", headers=reseller_headers
        )
        assert response.status == 200, ref
        assert_shape(response.json, schemas.PackageDetail)
        assert response.json["package"]["name"] == "Starter"


async def test_package_names_with_spaces(client, admin_headers):
    await Package.create(name="Pro Plan", cpu_cores=2, ram_gb=4, disk_gb=40)
    _, response = await client.get(
        "/api/integration/packages/Pro%20Plan", headers=admin_headers
    )
    assert response.status == 200
    assert response.json["package"]["cpu_limit"] == 2.0


async def test_unknown_package_is_404(client, admin_headers, starter):
    for ref in ("999", "Nope"):
        _, response = await client.get(
            f"/api/integration/packages/{ref}", headers=admin_headers
        )
        assert response.status == 404
        assert response.json["status"] == "error"
