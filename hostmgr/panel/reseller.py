"""The reseller's panel: its customers, their instances, and acting as one."""

from __future__ import annotations

from sanic import Blueprint, HTTPResponse, Request

from hostmgr.api.accounts import account_event
from hostmgr.api.schemas import AccountCreate
from hostmgr.errors import NotFound, ValidationFailed
from hostmgr.events import emit
from hostmgr.models import Instance, Role, User
from hostmgr.panel import auth
from hostmgr.panel.auth import requires
from hostmgr.panel.customer import count_by_owner, rows_for
from hostmgr.panel.forms import parse_form, values_of
from hostmgr.panel.pages import Flash, me, redirect_to, render, route, state_of
from hostmgr.services import accounts

ACCOUNT_FIELDS = ("name", "email", "username", "password", "instance_limit")


async def _customers(reseller: User) -> list[tuple[User, int]]:
    customers = await User.filter(reseller_id=reseller.id)
    counts = await count_by_owner([c.id for c in customers])
    return [(c, counts.get(c.id, 0)) for c in customers]


async def home(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HTTPResponse:
    """The reseller's home: its customers, and a form to add one."""
    return render(
        request,
        "reseller_home.html",
        title="Your customers",
        status=status,
        customers=await _customers(me(request)),
        values=values or {},
        errors=errors or {},
    )


async def find_customer(reseller: User, username: str) -> User:
    customer = await User.get_or_none(
        username=username.lower(), reseller_id=reseller.id
    ).select_related("reseller")
    if customer is None:
        raise NotFound(f"You have no customer named {username}.")
    return customer


def register(bp: Blueprint) -> None:
    @route(bp, "/panel/reseller/customers", "POST")
    @requires(Role.RESELLER)
    async def create_customer(request: Request) -> HTTPResponse:
        reseller = me(request)
        values = values_of(request, ACCOUNT_FIELDS)
        try:
            body = parse_form(AccountCreate, values)
            customer = await accounts.create_user(
                **body.model_dump(), role=Role.USER, reseller=reseller
            )
        except ValidationFailed as exc:
            values.pop("password")
            return await home(request, values=values, errors=exc.errors, status=422)
        await emit(request.app.ctx.pm, account_event("created", customer))
        return redirect_to(
            request,
            f"/panel/reseller/customers/{customer.username}",
            Flash("success", f"Created the customer {customer.name}."),
        )

    @route(bp, "/panel/reseller/customers/<username:str>")
    @requires(Role.RESELLER)
    async def show_customer(request: Request, username: str) -> HTTPResponse:
        customer = await find_customer(me(request), username)
        instances = await Instance.filter(user_id=customer.id).select_related(
            "package", "user"
        )
        return render(
            request,
            "customer.html",
            title=customer.name,
            customer=customer,
            rows=await rows_for(request, list(instances)),
            act_url=f"/panel/reseller/customers/{customer.username}/act",
        )

    @route(bp, "/panel/reseller/customers/<username:str>/act", "POST")
    @requires(Role.RESELLER)
    async def act_as_customer(request: Request, username: str) -> HTTPResponse:
        customer = await find_customer(me(request), username)
        state_of(request).audit_details["acting_as"] = customer.username
        return await auth.open_session_as(request, customer)
