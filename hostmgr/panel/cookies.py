"""The panel's cookies: HttpOnly, SameSite=Lax, and Secure behind https."""

from __future__ import annotations

from sanic import HTTPResponse

from hostmgr.config import Settings
from hostmgr.services import sessions

SESSION = sessions.COOKIE_NAME
#: The signed-in reseller's own session while it acts as one of its customers.
RETURN = "hostmgr_return"
#: The CSRF secret of a visitor who is not signed in (the sign-in form).
CSRF = "hostmgr_csrf"
FLASH = "hostmgr_flash"


def is_https(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def set_cookie(
    response: HTTPResponse,
    settings: Settings,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    response.add_cookie(
        name,
        value,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=is_https(settings),
        max_age=max_age,
    )


def drop_cookie(response: HTTPResponse, settings: Settings, name: str) -> None:
    # Set with the same flags, or a browser keeps the original.
    set_cookie(response, settings, name, "", max_age=0)
