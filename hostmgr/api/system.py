"""``/connection/test`` and ``/system/stats``."""

from __future__ import annotations

import asyncio
import socket
from typing import cast

from sanic import Blueprint, HTTPResponse, Request

from hostmgr.api import schemas
from hostmgr.api.common import document, principal_of, success
from hostmgr.auth import visible_users
from hostmgr.models import Role
from hostmgr.services import host
from hostmgr.services.accounts import instance_counts


def register(bp: Blueprint) -> None:
    @bp.get("/connection/test")
    @document("Check the token and reach the server", schemas.ConnectionTest)
    async def connection_test(request: Request) -> HTTPResponse:
        user = principal_of(request).user
        ip = await asyncio.to_thread(host.primary_ip)
        return success(
            message="Connection successful",
            hostname=socket.gethostname(),
            ip=ip,
            user={"id": user.id, "name": user.name, "email": user.email},
        )

    @bp.get("/system/stats")
    @document("Host health and counts in the caller's scope", schemas.SystemStats)
    async def system_stats(request: Request) -> HTTPResponse:
        principal = principal_of(request)
        info = await asyncio.to_thread(host.system_info)
        scope = visible_users(principal)
        customers = await scope.filter(role=Role.USER).count()
        owners = None
        if not principal.is_admin:
            owners = cast(list[int], await scope.values_list("id", flat=True))
        counts = await instance_counts(owners)
        return success(
            server_status="online",
            system_info=info,
            load_averages=host.load_averages(),
            counts={
                "users": customers,
                "instances_total": counts["total"],
                "instances_running": counts["running"],
                "instances_stopped": counts["stopped"],
            },
        )
