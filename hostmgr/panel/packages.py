"""The admin's packages: create, edit, deactivate and activate again.

Saving new limits applies them live to every instance on the package, as an
upgrade does, so the package and its containers never disagree.
"""

from __future__ import annotations

import logging

from sanic import Blueprint, HTTPResponse, Request
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count

from hostmgr.errors import ApiError, NotFound, ValidationFailed
from hostmgr.models import Instance, Package, Role
from hostmgr.panel.auth import requires
from hostmgr.panel.forms import PackageForm, parse_form, values_of
from hostmgr.panel.pages import Flash, redirect_to, render, route
from hostmgr.services.instances import InstanceService

logger = logging.getLogger(__name__)

FIELDS = ("name", "cpu_cores", "ram_gb", "disk_gb")
NAME_TAKEN = {"name": ["A package by this name exists already."]}


async def list_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HTTPResponse:
    packages = await Package.all().annotate(instance_count=Count("instances"))
    return render(
        request,
        "admin_packages.html",
        title="Packages",
        status=status,
        packages=packages,
        values=values or {},
        errors=errors or {},
    )


async def edit_page(
    request: Request,
    package: Package,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HTTPResponse:
    return render(
        request,
        "admin_package.html",
        title=f"Package {package.name}",
        status=status,
        package=package,
        instances=await Instance.filter(package_id=package.id).count(),
        values=values or {name: _plain(getattr(package, name)) for name in FIELDS},
        errors=errors or {},
    )


def _plain(value: object) -> str:
    """``1.0`` as ``1``: how a person would type it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


async def find_package(package_id: int) -> Package:
    package = await Package.get_or_none(id=package_id)
    if package is None:
        raise NotFound("There is no such package.")
    return package


async def _apply_to_instances(request: Request, package: Package) -> list[str]:
    """Apply the package's limits to its instances; the names that failed."""
    service: InstanceService | None = request.app.ctx.instances
    if service is None:
        return []
    failed = []
    for instance in await Instance.filter(package_id=package.id):
        try:
            await service.upgrade(instance, package)
        except ApiError as exc:
            logger.warning("limits of %s not applied: %s", instance.name, exc.message)
            failed.append(instance.name)
    return failed


def register(bp: Blueprint) -> None:
    @route(bp, "/panel/admin/packages")
    @requires(Role.ADMIN)
    async def list_packages(request: Request) -> HTTPResponse:
        return await list_page(request)

    @route(bp, "/panel/admin/packages", "POST")
    @requires(Role.ADMIN)
    async def create_package(request: Request) -> HTTPResponse:
        values = values_of(request, FIELDS)
        try:
            form = parse_form(PackageForm, values)
            package = await Package.create(**form.model_dump())
        except ValidationFailed as exc:
            return await list_page(
                request, values=values, errors=exc.errors, status=422
            )
        except IntegrityError:
            return await list_page(
                request, values=values, errors=NAME_TAKEN, status=422
            )
        logger.info("created package %s (id %s)", package.name, package.id)
        return redirect_to(
            request,
            "/panel/admin/packages",
            Flash("success", f"Created the package {package.name}."),
        )

    @route(bp, "/panel/admin/packages/<package_id:int>")
    @requires(Role.ADMIN)
    async def show_package(request: Request, package_id: int) -> HTTPResponse:
        return await edit_page(request, await find_package(package_id))

    @route(bp, "/panel/admin/packages/<package_id:int>", "POST")
    @requires(Role.ADMIN)
    async def update_package(request: Request, package_id: int) -> HTTPResponse:
        package = await find_package(package_id)
        values = values_of(request, FIELDS)
        try:
            form = parse_form(PackageForm, values)
            package.update_from_dict(form.model_dump())
            await package.save()
        except ValidationFailed as exc:
            return await edit_page(
                request, package, values=values, errors=exc.errors, status=422
            )
        except IntegrityError:
            return await edit_page(
                request, package, values=values, errors=NAME_TAKEN, status=422
            )
        logger.info("updated package %s (id %s)", package.name, package.id)
        flashes = [Flash("success", f"Saved the package {package.name}.")]
        failed = await _apply_to_instances(request, package)
        if failed:
            flashes.append(
                Flash("error", "New limits not applied to: " + ", ".join(failed))
            )
        return redirect_to(request, f"/panel/admin/packages/{package.id}", *flashes)

    @route(
        bp,
        "/panel/admin/packages/<package_id:int>/<action:deactivate|activate>",
        "POST",
    )
    @requires(Role.ADMIN)
    async def toggle_package(
        request: Request, package_id: int, action: str
    ) -> HTTPResponse:
        package = await find_package(package_id)
        package.active = action == "activate"
        await package.save(update_fields=["active"])
        logger.info("%sd package %s", action, package.name)
        note = (
            "It can be sold again."
            if package.active
            else "Its instances keep running; no new ones can be created on it."
        )
        return redirect_to(
            request,
            "/panel/admin/packages",
            Flash("success", f"{action.title()}d the package {package.name}. {note}"),
        )
