"""``/users``: list, look up and change the accounts in the caller's reach.

A user is addressed by email (anything with an ``@``) or by username. An admin
reaches every account; a reseller its customers, and itself read-only, so that it
cannot raise its own instance limit. Anything else answers 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from sanic import Blueprint, HTTPResponse, Request

from hostmgr.api import schemas
from hostmgr.api.common import body_of, document, principal_of, success
from hostmgr.auth import Principal, visible_users
from hostmgr.errors import Forbidden, NotFound
from hostmgr.events import Event, emit
from hostmgr.models import User
from hostmgr.services import accounts


def user_out(user: User) -> dict[str, Any]:
    reseller = user.reseller.username if user.reseller is not None else None
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "role": user.role.value,
        "suspended": user.suspended,
        "instance_limit": user.instance_limit,
        "reseller": reseller,
        "created_at": user.created_at.isoformat(),
    }


async def find_user(principal: Principal, ref: str) -> User:
    # The router hands path parameters over still percent-encoded.
    ref = unquote(ref)
    scope = visible_users(principal).select_related("reseller")
    if "@" in ref:
        user = await scope.get_or_none(email=accounts.normalize_email(ref))
    else:
        user = await scope.get_or_none(username=ref.lower())
    if user is None:
        raise NotFound(f"User {ref!r} not found")
    return user


def register(bp: Blueprint) -> None:
    @bp.get("/users")
    @document("List the accounts in the caller's reach", schemas.UserList)
    async def list_users(request: Request) -> HTTPResponse:
        users = await visible_users(principal_of(request)).select_related("reseller")
        return success(users=[user_out(user) for user in users])

    @bp.get("/users/<ref:str>")
    @document("One account, by email or username", schemas.UserDetail, errors=(404,))
    async def show_user(request: Request, ref: str) -> HTTPResponse:
        return success(user=user_out(await find_user(principal_of(request), ref)))

    @bp.patch("/users/<ref:str>")
    @document(
        "Change an account, by email or username",
        schemas.UserDetail,
        body=schemas.AccountUpdate,
        errors=(403, 404, 422),
    )
    async def update_user(request: Request, ref: str) -> HTTPResponse:
        principal = principal_of(request)
        body = body_of(request, schemas.AccountUpdate)
        user = await find_user(principal, ref)
        if not principal.is_admin and user.id == principal.user.id:
            raise Forbidden("A reseller cannot change its own account here")

        changes = body.model_dump(exclude_unset=True)
        await accounts.update_user(user, changes)
        await emit(
            request.app.ctx.pm,
            Event(
                f"{user.role.value}.updated",
                user.username,
                {"user_id": user.id, "email": user.email, "changed": sorted(changes)},
            ),
        )
        return success(user=user_out(user))
