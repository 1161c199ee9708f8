"""``/users``, ``/resellers`` and ``/users/sso``.

Users created by a reseller belong to that reseller. Resellers are managed by
username, by admins only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, cast

from sanic import Blueprint, HTTPResponse, Request

from hostmgr.api import schemas
from hostmgr.api.common import body_of, document, principal_of, settings_of, success
from hostmgr.auth import require_role, visible_users
from hostmgr.errors import Forbidden, NotFound
from hostmgr.events import Event, emit
from hostmgr.models import Role, User
from hostmgr.services import accounts, sso
from hostmgr.services.instances import InstanceService

RESELLER_SUSPENDED = "The reseller account is suspended"


async def _customer_ids(reseller: User) -> list[int]:
    ids = await User.filter(reseller_id=reseller.id).values_list("id", flat=True)
    return cast(list[int], ids)


async def reseller_out(reseller: User) -> dict[str, Any]:
    customer_ids = await _customer_ids(reseller)
    counts = await accounts.instance_counts([reseller.id, *customer_ids])
    return {
        "id": reseller.id,
        "name": reseller.name,
        "username": reseller.username,
        "email": reseller.email,
        "suspended": reseller.suspended,
        "instance_limit": reseller.instance_limit,
        "users": len(customer_ids),
        "instances": counts,
        "created_at": reseller.created_at.isoformat(),
    }


def account_event(name: str, user: User) -> Event:
    """A ``<role>.<name>`` event with the account's id and email."""
    return Event(
        f"{user.role.value}.{name}",
        user.username,
        {"user_id": user.id, "email": user.email},
    )


async def find_reseller(username: str) -> User:
    reseller = await User.get_or_none(username=username.lower(), role=Role.RESELLER)
    if reseller is None:
        raise NotFound(f"Reseller {username!r} not found")
    return reseller


def _account_creator(
    role: Role,
) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
    """The handler of ``POST /users`` or ``POST /resellers``.

    Only admins create resellers. A user created by a reseller belongs to it.
    """

    async def create_account(request: Request) -> HTTPResponse:
        principal = principal_of(request)
        if role != Role.USER:
            require_role(principal, Role.ADMIN)
        body = body_of(request, schemas.AccountCreate)
        user = await accounts.create_user(
            **body.model_dump(),
            role=role,
            reseller=principal.user if principal.is_reseller else None,
        )
        await emit(request.app.ctx.pm, account_event("created", user))
        return success(201, user_id=user.id)

    create_account.__name__ = f"create_{role.value}"
    return create_account


def register(bp: Blueprint) -> None:
    for path, role, summary in (
        ("/users", Role.USER, "Create a standard user"),
        ("/resellers", Role.RESELLER, "Create a reseller (admin only)"),
    ):
        handler = document(
            summary,
            schemas.UserCreated,
            body=schemas.AccountCreate,
            status=201,
            errors=(422,),
        )(_account_creator(role))
        bp.add_route(handler, path, methods=["POST"], name=f"create_{role.value}")

    @bp.post("/users/sso")
    @document(
        "A one-time panel login link for a user",
        schemas.SsoLink,
        body=schemas.SsoRequest,
        errors=(404, 422),
    )
    async def user_sso(request: Request) -> HTTPResponse:
        body = body_of(request, schemas.SsoRequest)
        scope = visible_users(principal_of(request))
        if body.email is not None:
            user = await scope.get_or_none(email=accounts.normalize_email(body.email))
        else:
            user = await scope.get_or_none(username=(body.username or "").lower())
        if user is None:
            raise NotFound("User not found")
        if user.suspended:
            raise Forbidden("This user is suspended")
        return success(redirect_url=sso.make_link(settings_of(request), user))

    @bp.get("/resellers")
    @document("List resellers (admin only)", schemas.ResellerList)
    async def list_resellers(request: Request) -> HTTPResponse:
        require_role(principal_of(request), Role.ADMIN)
        resellers = await User.filter(role=Role.RESELLER)
        return success(resellers=[await reseller_out(r) for r in resellers])

    @bp.get("/resellers/<username:str>")
    @document("One reseller (admin only)", schemas.ResellerDetail, errors=(404,))
    async def show_reseller(request: Request, username: str) -> HTTPResponse:
        require_role(principal_of(request), Role.ADMIN)
        reseller = await find_reseller(username)
        return success(reseller=await reseller_out(reseller))

    @bp.patch("/resellers/<username:str>")
    @document(
        "Change a reseller (admin only)",
        schemas.ResellerDetail,
        body=schemas.AccountUpdate,
        errors=(404, 422),
    )
    async def update_reseller(request: Request, username: str) -> HTTPResponse:
        require_role(principal_of(request), Role.ADMIN)
        body = body_of(request, schemas.AccountUpdate)
        reseller = await find_reseller(username)
        await accounts.update_user(reseller, body.model_dump(exclude_unset=True))
        await emit(request.app.ctx.pm, account_event("updated", reseller))
        return success(reseller=await reseller_out(reseller))

    @bp.delete("/resellers/<username:str>")
    @document(
        "Delete a reseller with no customers left (admin only)",
        schemas.Success,
        errors=(404, 409),
    )
    async def delete_reseller(request: Request, username: str) -> HTTPResponse:
        require_role(principal_of(request), Role.ADMIN)
        reseller = await find_reseller(username)
        await accounts.delete_reseller(reseller)
        await emit(request.app.ctx.pm, account_event("deleted", reseller))
        return success()

    @bp.post("/resellers/<username:str>/<action:suspend|unsuspend>")
    @document(
        "Suspend or unsuspend a reseller (admin only)", schemas.Success, errors=(404,)
    )
    async def suspend_reseller(
        request: Request, username: str, action: str
    ) -> HTTPResponse:
        require_role(principal_of(request), Role.ADMIN)
        reseller = await find_reseller(username)
        tree = [reseller.id, *await _customer_ids(reseller)]
        service: InstanceService | None = request.app.ctx.instances
        if service is not None and action == "suspend":
            await service.suspend_owned(tree, RESELLER_SUSPENDED)
        await accounts.set_suspended(reseller, action == "suspend")
        if service is not None and action == "unsuspend":
            await service.unsuspend_owned(tree, RESELLER_SUSPENDED)
        await emit(request.app.ctx.pm, account_event(f"{action}ed", reseller))
        return success()

    @bp.get("/resellers/<username:str>/instances")
    @document(
        "Instance counts of a reseller and its customers (admin only)",
        schemas.ResellerInstances,
        errors=(404,),
    )
    async def reseller_instances(request: Request, username: str) -> HTTPResponse:
        require_role(principal_of(request), Role.ADMIN)
        reseller = await find_reseller(username)
        out = await reseller_out(reseller)
        return success(username=reseller.username, instances=out["instances"])
