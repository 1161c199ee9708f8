"""``/instances``: create, list, stats and power actions.

An admin reaches every instance; a reseller those of itself and its customers.
Anything else answers 404, as if the instance did not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from sanic import Blueprint, HTTPResponse, Request
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from hostmgr import caches, db
from hostmgr.api import schemas
from hostmgr.api.common import body_of, document, principal_of, success
from hostmgr.api.packages import find_package
from hostmgr.auth import Principal, visible_users
from hostmgr.errors import NotFound, ServiceUnavailable
from hostmgr.events import Event, emit
from hostmgr.models import Instance, Package, User
from hostmgr.services import accounts
from hostmgr.services.instance_stats import StatsReader, format_bytes
from hostmgr.services.instances import GiB, InstanceService

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


def service_of(request: Request) -> InstanceService:
    service: InstanceService | None = request.app.ctx.instances
    if service is None:
        engine = request.app.ctx.settings.runtime
        raise ServiceUnavailable(f"No runtime plugin for {engine} is installed")
    return service


async def find_instance(principal: Principal, name: str) -> Instance:
    query = Instance.filter(name=name).select_related("package", "user")
    if not principal.is_admin:
        query = query.filter(
            user_id__in=Subquery(visible_users(principal).values("id"))
        )
    instance = await query.first()
    if instance is None:
        raise NotFound(f"Instance {name!r} not found")
    return instance


def instances_in_reach(principal: Principal) -> QuerySet[Instance]:
    """Every instance for an admin; a reseller's and its customers' otherwise."""
    query = Instance.all().select_related("package")
    if not principal.is_admin:
        query = query.filter(
            user_id__in=Subquery(visible_users(principal).values("id"))
        )
    return query


async def find_instance_for_stats(principal: Principal, name: str) -> Instance:
    """``find_instance`` for the stats hot path: one hand-written query, kept
    for a second (``hostmgr.caches``).

    The ORM's joined query costs more than the rest of a stats call.
    """
    cached = caches.instances.get(name)
    if cached is None:
        row = await db.fetch_one(_stats_sql(), name)
        if row is None:
            raise NotFound(f"Instance {name!r} not found")
        instance = db.build(Instance, row, "i")
        instance.package = db.build(Package, row, "p")
        cached = instance, row["owner_reseller_id"]
        caches.instances.put(name, cached)
    instance, owner_reseller_id = cached
    mine = principal.user.id
    if not principal.is_admin and mine not in (instance.user_id, owner_reseller_id):
        raise NotFound(f"Instance {name!r} not found")
    return instance


@functools.cache
def _stats_sql() -> str:
    # Column names come from the models; the instance name is a bound parameter.
    columns = f"{db.joined_columns(Instance, 'i')}, {db.joined_columns(Package, 'p')}"
    return (
        f'SELECT {columns}, o."reseller_id" AS owner_reseller_id '  # noqa: S608
        'FROM "instances" i '
        'JOIN "packages" p ON p."id" = i."package_id" '
        'JOIN "users" o ON o."id" = i."user_id" WHERE i."name" = ?'
    )


async def live_stats(request: Request, instance: Instance) -> dict[str, Any]:
    """Status, CPU and memory of an instance, as the stats endpoint shows them."""
    service_of(request)
    reader: StatsReader = request.app.ctx.stats
    stats = await reader.read(instance, int(instance.package.ram_gb * GiB))
    return {
        "instance_status": stats.status,
        "cpu_percent": stats.cpu_percent,
        "memory_usage": format_bytes(stats.memory_usage),
        "memory_limit": format_bytes(stats.memory_limit),
        "memory_percent": stats.memory_percent,
    }


async def _package_of(body: schemas.PackageRef) -> Package:
    return await find_package(
        body.package_id if body.package_id else body.package or ""
    )


def instance_out(instance: Instance) -> dict[str, Any]:
    return {
        "id": instance.id,
        "name": instance.name,
        "domain": instance.domain,
        "status": str(instance.status),
        "suspended": instance.suspended,
        "user_id": instance.user_id,
        "package": instance.package.name,
        "version": instance.version,
        "created_at": instance.created_at.isoformat(),
    }


def instance_event(name: str, instance: Instance, owner: User, **data: Any) -> Event:
    """An ``instance.<name>`` event with the domain and the owner.

    Subscribers need them after a terminate, when the row is gone.
    """
    return Event(
        f"instance.{name}",
        instance.name,
        {"domain": instance.domain, "user_id": owner.id, "email": owner.email, **data},
    )


def _power_action(action: str) -> Handler:
    async def handler(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance(principal_of(request), name)
        service = service_of(request)
        extra = {}
        if action == "suspend":
            reason = body_of(request, schemas.SuspendRequest).reason
            await service.suspend(instance, reason)
            extra["reason"] = reason
        else:
            await getattr(service, action)(instance)
        event = instance_event(EVENT_NAMES[action], instance, instance.user, **extra)
        await emit(request.app.ctx.pm, event)
        return success()

    handler.__name__ = f"instance_{action}"
    return handler


POWER_ACTIONS = {
    "start": "Start an instance (403 while suspended)",
    "stop": "Stop an instance",
    "restart": "Restart an instance (403 while suspended)",
    "suspend": "Stop an instance and block every start until unsuspended",
    "unsuspend": "Lift a suspension and start the instance",
    "terminate": "Delete the instance: container, data volume and record",
}
EVENT_NAMES = {
    "start": "started",
    "stop": "stopped",
    "restart": "restarted",
    "suspend": "suspended",
    "unsuspend": "unsuspended",
    "terminate": "terminated",
}


def register(bp: Blueprint) -> None:
    @bp.post("/instances/create")
    @document(
        "Create and start an n8n instance",
        schemas.InstanceCreated,
        body=schemas.InstanceCreate,
        status=201,
        errors=(404, 422, 503),
    )
    async def create_instance(request: Request) -> HTTPResponse:
        principal = principal_of(request)
        body = body_of(request, schemas.InstanceCreate)
        owner = principal.user
        if body.email is not None:
            email = accounts.normalize_email(body.email)
            found = await visible_users(principal).get_or_none(email=email)
            if found is None:
                raise NotFound(f"User {body.email} not found")
            owner = found
        package = await _package_of(body)
        instance = await service_of(request).create(
            name=body.name, owner=owner, package=package, version=body.version
        )
        await emit(
            request.app.ctx.pm,
            instance_event("created", instance, owner, package=package.name),
        )
        return success(
            201, instance_id=instance.id, domain=instance.domain, user_id=owner.id
        )

    @bp.get("/instances")
    @document("List the instances in the caller's reach", schemas.InstanceList)
    async def list_instances(request: Request) -> HTTPResponse:
        instances = await instances_in_reach(principal_of(request))
        return success(instances=[instance_out(i) for i in instances])

    @bp.get("/instances/<name:str>")
    @document("One instance", schemas.InstanceDetail, errors=(404,))
    async def show_instance(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance(principal_of(request), name)
        return success(instance=instance_out(instance))

    @bp.get("/instances/<name:str>/stats")
    @document(
        "Live CPU and memory of an instance",
        schemas.InstanceStatsOut,
        errors=(404, 503),
    )
    async def instance_stats(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance_for_stats(principal_of(request), name)
        return success(domain=instance.domain, **await live_stats(request, instance))

    @bp.post("/instances/<name:str>/upgrade")
    @document(
        "Move an instance to another package, live",
        schemas.UpgradeResult,
        body=schemas.PackageRef,
        errors=(404, 422, 503),
    )
    async def upgrade_instance(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance(principal_of(request), name)
        package = await _package_of(body_of(request, schemas.PackageRef))
        await service_of(request).upgrade(instance, package)
        await emit(
            request.app.ctx.pm,
            instance_event("upgraded", instance, instance.user, package=package.name),
        )
        return success(
            message="Package updated and resources applied.", new_package=package.name
        )

    for action, summary in POWER_ACTIONS.items():
        body = schemas.SuspendRequest if action == "suspend" else None
        handler = document(summary, schemas.Success, body=body, errors=(404, 409, 503))(
            _power_action(action)
        )
        bp.add_route(
            handler,
            f"/instances/<name:str>/{action}",
            methods=["POST"],
            name=f"instance_{action}",
        )
