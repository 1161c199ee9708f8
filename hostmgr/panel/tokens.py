"""The admin's API tokens: create (shown once), revoke, and the IP allow-list.

As with ``hostmgr token create``, only the token's SHA-256 is stored; a change
empties this worker's token cache at once (other workers follow within its TTL). The new
token travels to the page after the redirect in the sealed flash cookie, which
that page drops, so a reload no longer shows it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from datetime import UTC, datetime, timedelta

from sanic import Blueprint, HTTPResponse, Request

from hostmgr import caches
from hostmgr.errors import NotFound, ValidationFailed
from hostmgr.models import ApiToken, Role, User
from hostmgr.panel.auth import requires
from hostmgr.panel.forms import values_of
from hostmgr.panel.pages import Flash, redirect_to, render, route
from hostmgr.services import accounts

logger = logging.getLogger(__name__)

#: Lifetimes offered in the form, in days; "" is no expiry.
LIFETIMES = {"": None, "1": 1, "30": 30, "90": 90, "365": 365}
MAX_NETWORKS = 100


def parse_networks(text: str) -> list[str]:
    """IPs and CIDR networks, one per line or separated by commas or spaces."""
    networks, bad = [], []
    for entry in (e for e in re.split(r"[\s,]+", text) if e):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            bad.append(entry)
    if bad:
        raise ValidationFailed(
            {"allowed_ips": [f"Not an IP address or CIDR network: {', '.join(bad)}"]}
        )
    if len(networks) > MAX_NETWORKS:
        raise ValidationFailed(
            {"allowed_ips": [f"At most {MAX_NETWORKS} networks per token."]}
        )
    return networks


async def owners() -> list[User]:
    """Whose tokens can call the integration API: admins and resellers."""
    return await User.filter(role__in=[Role.ADMIN, Role.RESELLER], suspended=False)


async def tokens_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HTTPResponse:
    tokens = await ApiToken.all().select_related("user").order_by("-id")
    return render(
        request,
        "admin_tokens.html",
        title="API tokens",
        status=status,
        tokens=tokens,
        owners=await owners(),
        lifetimes=[key for key in LIFETIMES if key],
        values=values or {},
        errors=errors or {},
        now=datetime.now(UTC),
    )


async def _owner_of(value: str) -> User:
    owner = next((u for u in await owners() if str(u.id) == value), None)
    if owner is None:
        raise ValidationFailed({"owner": ["Choose an admin or a reseller."]})
    return owner


async def find_token(token_id: int) -> ApiToken:
    token = await ApiToken.get_or_none(id=token_id).select_related("user")
    if token is None:
        raise NotFound("There is no such token.")
    return token


def register(bp: Blueprint) -> None:
    @route(bp, "/panel/admin/tokens")
    @requires(Role.ADMIN)
    async def list_tokens(request: Request) -> HTTPResponse:
        return await tokens_page(request)

    @route(bp, "/panel/admin/tokens", "POST")
    @requires(Role.ADMIN)
    async def create_token(request: Request) -> HTTPResponse:
        values = values_of(request, ("owner", "name", "allowed_ips", "expires"))
        try:
            owner = await _owner_of(values["owner"])
            if not 1 <= len(values["name"]) <= 100:
                raise ValidationFailed({"name": ["Give the token a name."]})
            if values["expires"] not in LIFETIMES:
                raise ValidationFailed({"expires": ["Choose one of the lifetimes."]})
            networks = parse_networks(values["allowed_ips"])
        except ValidationFailed as exc:
            return await tokens_page(
                request, values=values, errors=exc.errors, status=422
            )
        days = LIFETIMES[values["expires"]]
        secret = await accounts.issue_token(
            owner, values["name"], networks, timedelta(days=days) if days else None
        )
        return redirect_to(
            request,
            "/panel/admin/tokens",
            Flash(
                "success",
                f"Created the token {values['name']} for {owner.username}. "
                "Copy it now: it is not shown again.",
                secret=secret,
            ),
        )

    @route(bp, "/panel/admin/tokens/<token_id:int>/revoke", "POST")
    @requires(Role.ADMIN)
    async def revoke_token(request: Request, token_id: int) -> HTTPResponse:
        token = await find_token(token_id)
        await token.delete()
        caches.tokens.forget()
        logger.info("revoked API token %r of %s", token.name, token.user.username)
        return redirect_to(
            request,
            "/panel/admin/tokens",
            Flash("success", f"Revoked the token {token.name} ({token.prefix}…)."),
        )

    @route(bp, "/panel/admin/tokens/<token_id:int>/ips", "POST")
    @requires(Role.ADMIN)
    async def set_allowed_ips(request: Request, token_id: int) -> HTTPResponse:
        token = await find_token(token_id)
        text = values_of(request, ("allowed_ips",))["allowed_ips"]
        try:
            token.allowed_ips = parse_networks(text)
        except ValidationFailed as exc:
            message = " ".join(exc.errors["allowed_ips"])
            return redirect_to(request, "/panel/admin/tokens", Flash("error", message))
        await token.save(update_fields=["allowed_ips"])
        caches.tokens.forget()
        where = ", ".join(token.allowed_ips) or "any address"
        return redirect_to(
            request,
            "/panel/admin/tokens",
            Flash("success", f"The token {token.name} may now be used from {where}."),
        )
