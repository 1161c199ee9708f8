"""Instances in the panel: the list, one instance, live stats, logs and power.

Every instance route checks ownership on the server: an admin reaches every
instance, a reseller its own and its customers', a customer its own. Any other
instance answers 403 (404 when there is no such instance).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from sanic import Blueprint, HTTPResponse, Request, json
from tortoise.functions import Count

from hostmgr.api.instances import (
    EVENT_NAMES,
    instance_event,
    instances_in_reach,
    live_stats,
    service_of,
)
from hostmgr.auth import Principal
from hostmgr.errors import ApiError, Forbidden, NotFound
from hostmgr.events import emit
from hostmgr.models import Instance, InstanceUsage, Role, User
from hostmgr.panel.auth import requires
from hostmgr.panel.forms import form_value
from hostmgr.panel.pages import Flash, me, redirect_to, render, route, safe_next
from hostmgr.services.usage import current_period, usage_out

logger = logging.getLogger(__name__)

LOG_TAIL = 200
MAX_LOG_TAIL = 2000
# Colour codes in container output mean nothing in a <pre>.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ACTIONS = {
    "start": "Started",
    "stop": "Stopped",
    "restart": "Restarted",
    "suspend": "Suspended",
    "unsuspend": "Unsuspended",
}
#: Actions that only those who sell the instance may take.
SELLER_ACTIONS = frozenset({"suspend", "unsuspend"})


@dataclasses.dataclass(frozen=True)
class InstanceRow:
    instance: Instance
    url: str
    usage: dict[str, Any]


def may_reach(user: User, instance: Instance) -> bool:
    if user.role == Role.ADMIN or instance.user_id == user.id:
        return True
    return user.role == Role.RESELLER and instance.user.reseller_id == user.id


async def find_instance_for(user: User, name: str) -> Instance:
    instance = await Instance.get_or_none(name=name).select_related("package", "user")
    if instance is None:
        raise NotFound(f"There is no instance named {name}.")
    if not may_reach(user, instance):
        raise Forbidden("This instance belongs to another account.")
    return instance


def instance_url(request: Request, instance: Instance) -> str:
    https = request.app.ctx.settings.public_url.startswith("https://")
    return f"{'https' if https else 'http'}://{instance.domain}"


async def rows_for(request: Request, instances: list[Instance]) -> list[InstanceRow]:
    """Each instance with its link and this month's usage."""
    period = current_period()
    usage = {
        row.instance_id: row
        for row in await InstanceUsage.filter(
            instance_id__in=[i.id for i in instances], period=period
        )
    }
    return [
        InstanceRow(i, instance_url(request, i), usage_out(i, usage.get(i.id), period))
        for i in instances
    ]


async def count_by_owner(owner_ids: list[int]) -> dict[int, int]:
    """How many instances each of these users owns (absent: none)."""
    rows = (
        await Instance.filter(user_id__in=owner_ids)
        .group_by("user_id")
        .annotate(count=Count("id"))
        .values_list("user_id", "count")
    )
    return {int(owner): int(count) for owner, count in rows}


async def reachable_rows(request: Request, user: User) -> list[InstanceRow]:
    instances = await instances_in_reach(Principal(user=user)).select_related("user")
    return await rows_for(request, list(instances))


async def dashboard(request: Request) -> HTTPResponse:
    """A customer's home: its instances, live."""
    rows = await reachable_rows(request, me(request))
    return render(request, "instances.html", title="Your instances", rows=rows)


async def _logs_of(request: Request, instance: Instance, tail: int) -> str:
    if not instance.container_id:
        return ""
    text = await service_of(request).runtime.logs(instance.container_id, tail=tail)
    return ANSI_ESCAPE.sub("", text)


def _tail_of(request: Request) -> int:
    try:
        tail = int(request.args.get("tail", LOG_TAIL))
    except ValueError:
        tail = LOG_TAIL
    return min(max(tail, 1), MAX_LOG_TAIL)


def register(bp: Blueprint) -> None:
    @route(bp, "/panel/instances")
    @requires()
    async def list_instances(request: Request) -> HTTPResponse:
        user = me(request)
        rows = await reachable_rows(request, user)
        title = "Your instances" if user.role == Role.USER else "Instances"
        return render(request, "instances.html", title=title, rows=rows)

    @route(bp, "/panel/instances/<name:str>")
    @requires()
    async def show_instance(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance_for(me(request), name)
        [row] = await rows_for(request, [instance])
        return render(
            request, "instance.html", title=instance.name, row=row, i=instance
        )

    @route(bp, "/panel/instances/<name:str>/stats.json")
    @requires()
    async def instance_stats(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance_for(me(request), name)
        stats = await live_stats(request, instance)
        return json(
            {"name": instance.name, **stats}, headers={"Cache-Control": "no-store"}
        )

    @route(bp, "/panel/instances/<name:str>/logs")
    @requires()
    async def instance_logs(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance_for(me(request), name)
        error = None
        try:
            text = await _logs_of(request, instance, LOG_TAIL)
        except ApiError as exc:
            text, error = "", exc.message
        return render(
            request,
            "logs.html",
            title=f"Logs of {instance.name}",
            i=instance,
            text=text,
            error=error,
            tail=LOG_TAIL,
        )

    @route(bp, "/panel/instances/<name:str>/logs.json")
    @requires()
    async def instance_logs_json(request: Request, name: str) -> HTTPResponse:
        instance = await find_instance_for(me(request), name)
        text = await _logs_of(request, instance, _tail_of(request))
        return json(
            {"name": instance.name, "logs": text}, headers={"Cache-Control": "no-store"}
        )

    @route(
        bp,
        "/panel/instances/<name:str>/<action:start|stop|restart|suspend|unsuspend>",
        "POST",
    )
    @requires()
    async def instance_action(request: Request, name: str, action: str) -> HTTPResponse:
        user = me(request)
        instance = await find_instance_for(user, name)
        if action in SELLER_ACTIONS and user.role == Role.USER:
            raise Forbidden("Only your provider can suspend or unsuspend an instance.")
        back = safe_next(
            form_value(request, "next"), f"/panel/instances/{instance.name}"
        )
        service = service_of(request)
        extra: dict[str, str] = {}
        try:
            if action == "suspend":
                reason = form_value(request, "reason")[:255]
                extra["reason"] = reason or "Suspended"
                await service.suspend(instance, extra["reason"])
            else:
                await getattr(service, action)(instance)
        except ApiError as exc:
            # Suspended, busy or an engine fault: say so on the page, not as a 5xx.
            logger.info(
                "panel %s of %s refused: %s", action, instance.name, exc.message
            )
            return redirect_to(request, back, Flash("error", _refusal(action, exc)))
        await emit(
            request.app.ctx.pm,
            instance_event(EVENT_NAMES[action], instance, instance.user, **extra),
        )
        return redirect_to(
            request, back, Flash("success", f"{ACTIONS[action]} {instance.name}.")
        )


def _refusal(action: str, exc: ApiError) -> str:
    if isinstance(exc, Forbidden) and action in ("start", "restart"):
        return (
            f"{exc.message}. It stays stopped until your provider lifts the suspension."
        )
    return f"Could not {action} the instance: {exc.message}"
