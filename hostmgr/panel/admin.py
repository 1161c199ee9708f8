"""The admin's panel: the overview, users and resellers.

Suspending a reseller here does what the integration API's suspend does: every
instance of the reseller and its customers is suspended with it, and lifted
with it again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import psutil
from sanic import Blueprint, HTTPResponse, Request
from tortoise.expressions import Q

from hostmgr.api.accounts import RESELLER_SUSPENDED, account_event
from hostmgr.api.schemas import AccountCreate, AccountUpdate
from hostmgr.errors import NotFound, ValidationFailed
from hostmgr.events import emit
from hostmgr.models import AuditEntry, Instance, Role, User
from hostmgr.panel import auth
from hostmgr.panel.auth import requires
from hostmgr.panel.customer import count_by_owner, rows_for
from hostmgr.panel.forms import form_value, parse_form, values_of
from hostmgr.panel.pages import Flash, me, redirect_to, render, route, state_of
from hostmgr.services import accounts, host
from hostmgr.services.instances import InstanceService

logger = logging.getLogger(__name__)

CREATE_FIELDS = ("name", "email", "username", "password", "instance_limit")
ROLES = {"user": Role.USER, "admin": Role.ADMIN, "reseller": Role.RESELLER}


def _host_facts(data_dir: str) -> dict[str, Any]:
    """Blocking reads of /proc and the disk: call it from a worker thread."""
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(data_dir)
    return {
        **host.system_info(),
        "load": host.load_averages(),
        "cpus": psutil.cpu_count() or 1,
        "memory_percent": memory.percent,
        "memory_total_gb": round(memory.total / 1024**3, 1),
        "disk_percent": disk.percent,
        "disk_free_gb": round(disk.free / 1024**3, 1),
    }


async def overview(request: Request) -> HTTPResponse:
    settings = state_of(request).settings
    data_dir = str(settings.data_dir) if settings.data_dir.exists() else "/"
    facts = await asyncio.to_thread(_host_facts, data_dir)
    counts = await accounts.instance_counts(None)
    people = {role.value: await User.filter(role=role).count() for role in Role}
    recent = await AuditEntry.all().limit(10).select_related("user")
    return render(
        request,
        "admin_home.html",
        title="Overview",
        facts=facts,
        counts=counts,
        people=people,
        recent=recent,
    )


async def users_page(
    request: Request,
    *,
    role_filter: Role | None,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HTTPResponse:
    search = str(request.args.get("q", "")).strip()
    query = User.all()
    if role_filter is not None:
        query = query.filter(role=role_filter)
    if search:
        query = query.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(name__icontains=search)
        )
    users = await query
    resellers = await User.filter(role=Role.RESELLER)
    reseller_page = role_filter == Role.RESELLER
    return render(
        request,
        "admin_users.html",
        title="Resellers" if reseller_page else "Users",
        status=status,
        users=users,
        counts=await count_by_owner([u.id for u in users]),
        reseller_names={r.id: r.username for r in resellers},
        resellers=resellers,
        reseller_page=reseller_page,
        search=search,
        values=values or {},
        errors=errors or {},
    )


async def find_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id).select_related("reseller")
    if user is None:
        raise NotFound("There is no such user.")
    return user


async def _reseller_of(value: str) -> User | None:
    if not value:
        return None
    reseller = await User.get_or_none(id=int(value) if value.isdigit() else 0)
    if reseller is None or reseller.role != Role.RESELLER:
        raise ValidationFailed({"reseller": ["Choose one of the resellers."]})
    return reseller


async def _create_account(request: Request, role: Role) -> User:
    values = values_of(request, (*CREATE_FIELDS, "reseller"))
    body = parse_form(AccountCreate, {k: values[k] for k in CREATE_FIELDS})
    reseller = await _reseller_of(values["reseller"]) if role == Role.USER else None
    user = await accounts.create_user(**body.model_dump(), role=role, reseller=reseller)
    await emit(request.app.ctx.pm, account_event("created", user))
    return user


async def edit_page(
    request: Request,
    user: User,
    *,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HTTPResponse:
    instances = await Instance.filter(user_id=user.id).select_related("package", "user")
    return render(
        request,
        "admin_user.html",
        title=user.name,
        status=status,
        user=user,
        rows=await rows_for(request, list(instances)),
        customers=await User.filter(reseller_id=user.id),
        errors=errors or {},
    )


async def set_suspended(request: Request, user: User, suspended: bool) -> None:
    """Suspend or lift a user; a reseller takes its whole tree's instances along."""
    service: InstanceService | None = request.app.ctx.instances
    tree: list[int] = []
    if user.role == Role.RESELLER:
        ids = await User.filter(reseller_id=user.id).values_list("id", flat=True)
        tree = [user.id, *cast(list[int], ids)]
    if service is not None and tree and suspended:
        await service.suspend_owned(tree, RESELLER_SUSPENDED)
    await accounts.set_suspended(user, suspended)
    if service is not None and tree and not suspended:
        await service.unsuspend_owned(tree, RESELLER_SUSPENDED)
    await emit(
        request.app.ctx.pm,
        account_event("suspended" if suspended else "unsuspended", user),
    )


def _back_to(request: Request, user: User, level: str, text: str) -> HTTPResponse:
    return redirect_to(request, f"/panel/admin/users/{user.id}", Flash(level, text))


def register(bp: Blueprint) -> None:
    @route(bp, "/panel/admin/users")
    @requires(Role.ADMIN)
    async def list_users(request: Request) -> HTTPResponse:
        role = ROLES.get(str(request.args.get("role", "")))
        return await users_page(request, role_filter=role)

    @route(bp, "/panel/admin/resellers")
    @requires(Role.ADMIN)
    async def list_resellers(request: Request) -> HTTPResponse:
        return await users_page(request, role_filter=Role.RESELLER)

    for path, default_role in (
        ("/panel/admin/users", None),
        ("/panel/admin/resellers", Role.RESELLER),
    ):
        _register_create(bp, path, default_role)

    @route(bp, "/panel/admin/users/<user_id:int>")
    @requires(Role.ADMIN)
    async def show_user(request: Request, user_id: int) -> HTTPResponse:
        return await edit_page(request, await find_user(user_id))

    @route(bp, "/panel/admin/users/<user_id:int>", "POST")
    @requires(Role.ADMIN)
    async def update_user(request: Request, user_id: int) -> HTTPResponse:
        user = await find_user(user_id)
        values = values_of(request, CREATE_FIELDS)
        try:
            body = parse_form(AccountUpdate, values, blank_is_none=("instance_limit",))
            changes = body.model_dump(exclude_unset=True)
            await accounts.update_user(user, changes)
        except ValidationFailed as exc:
            return await edit_page(request, user, errors=exc.errors, status=422)
        await emit(request.app.ctx.pm, account_event("updated", user))
        return _back_to(request, user, "success", f"Saved {user.name}.")

    @route(bp, "/panel/admin/users/<user_id:int>/<action:suspend|unsuspend>", "POST")
    @requires(Role.ADMIN)
    async def suspend_user(request: Request, user_id: int, action: str) -> HTTPResponse:
        user = await find_user(user_id)
        if user.id == me(request).id:
            return _back_to(
                request, user, "error", "You cannot suspend your own account."
            )
        await set_suspended(request, user, action == "suspend")
        return _back_to(request, user, "success", f"{action.title()}ed {user.name}.")

    @route(bp, "/panel/admin/users/<user_id:int>/act", "POST")
    @requires(Role.ADMIN)
    async def act_as_user(request: Request, user_id: int) -> HTTPResponse:
        user = await find_user(user_id)
        if user.role == Role.ADMIN:
            return _back_to(
                request, user, "error", "Admins cannot act as other admins."
            )
        state_of(request).audit_details["acting_as"] = user.username
        return await auth.open_session_as(request, user)


def _register_create(bp: Blueprint, path: str, fixed_role: Role | None) -> None:
    async def create_account(request: Request) -> HTTPResponse:
        role = fixed_role or ROLES.get(form_value(request, "role"), Role.USER)
        try:
            user = await _create_account(request, role)
        except ValidationFailed as exc:
            values = values_of(request, (*CREATE_FIELDS, "reseller", "role"))
            values.pop("password")
            return await users_page(
                request,
                role_filter=fixed_role,
                values=values,
                errors=exc.errors,
                status=422,
            )
        return redirect_to(
            request,
            f"/panel/admin/users/{user.id}",
            Flash("success", f"Created the {role.value} {user.name}."),
        )

    # Named before it is wrapped and registered: route names must be unique.
    create_account.__name__ = f"create_{(fixed_role or Role.USER).value}_account"
    route(bp, path, "POST")(requires(Role.ADMIN)(create_account))
