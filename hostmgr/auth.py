"""Who is calling, and what they may see.

A reseller sees itself and the users it created; an admin sees everything. Every
lookup of another user goes through ``visible_users`` so that ownership is
enforced in the query, not after it.
"""

from __future__ import annotations

import dataclasses
import ipaddress

import pluggy
from sanic import Request
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from hostmgr.config import Settings
from hostmgr.errors import Forbidden, Unauthenticated
from hostmgr.models import ApiToken, Role, User
from hostmgr.plugins import first_result


@dataclasses.dataclass(frozen=True)
class Principal:
    user: User
    token: ApiToken | None = None

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN

    @property
    def is_reseller(self) -> bool:
        return self.user.role == Role.RESELLER


async def authenticate(
    pm: pluggy.PluginManager, request: Request, settings: Settings
) -> Principal:
    """Ask the auth plugins who is calling; 401 when none knows."""
    principal = await first_result(
        pm, "hostmgr_authenticate", request=request, settings=settings
    )
    if principal is None:
        raise Unauthenticated()
    if not isinstance(principal, Principal):
        raise TypeError(f"an auth plugin returned {type(principal).__name__}")
    return principal


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.user.role not in roles:
        raise Forbidden("This action is unauthorized for your role")


def visible_users(principal: Principal) -> QuerySet[User]:
    """Users the principal may see: all for an admin, its subtree for a reseller."""
    if principal.is_admin:
        return User.all()
    if principal.is_reseller:
        return User.filter(Q(id=principal.user.id) | Q(reseller_id=principal.user.id))
    return User.filter(id=principal.user.id)


def is_ip_allowed(ip: str, allowed: list[str]) -> bool:
    """True when ``allowed`` is empty or one of its networks holds ``ip``."""
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(net, strict=False) for net in allowed)


def client_ip(request: Request) -> str:
    """The client address, through trusted proxies only (``proxies_count``)."""
    # Sanic writes IPv6 addresses in brackets, as in a URL.
    return (request.remote_addr or request.ip).strip("[]")
