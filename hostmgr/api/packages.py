"""``/packages``: the resource plans instances are sold on."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from sanic import Blueprint, HTTPResponse, Request

from hostmgr.api import schemas
from hostmgr.api.common import document, success
from hostmgr.errors import NotFound
from hostmgr.models import Package


def package_out(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "name": package.name,
        "cpu_limit": float(package.cpu_cores),
        "ram_limit": float(package.ram_gb),
        "disk_limit": int(package.disk_gb),
    }


async def find_package(ref: str | int) -> Package:
    """An active package by id or by name; 404 when there is none."""
    text = str(ref).strip()
    package = None
    if text.isdigit():
        package = await Package.get_or_none(id=int(text), active=True)
    if package is None:
        package = await Package.get_or_none(name=text, active=True)
    if package is None:
        raise NotFound(f"Package {text!r} not found")
    return package


def register(bp: Blueprint) -> None:
    @bp.get("/packages")
    @document("List the active packages", schemas.PackageList)
    async def list_packages(request: Request) -> HTTPResponse:
        packages = await Package.filter(active=True)
        return success(packages=[package_out(p) for p in packages])

    @bp.get("/packages/<ref:str>")
    @document("One package, by id or by name", schemas.PackageDetail, errors=(404,))
    async def show_package(request: Request, ref: str) -> HTTPResponse:
        # Sanic hands path parameters over still percent-encoded.
        return success(package=package_out(await find_package(unquote(ref))))
