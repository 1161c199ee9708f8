"""The web panel: the SSO landing and the signed-in home page."""

from __future__ import annotations

import html
import logging

from sanic import Blueprint, HTTPResponse, Request, redirect
from sanic import html as html_response

from hostmgr.config import Settings
from hostmgr.services import sessions, sso

logger = logging.getLogger(__name__)


def page(title: str, body: str, status: int = 200) -> HTTPResponse:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · hostmgr</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return html_response(document, status=status, headers={"Cache-Control": "no-store"})


def denied() -> HTTPResponse:
    return page(
        "Link not valid",
        "<p>This sign-in link is invalid, expired or already used. "
        "Ask your billing portal for a new one.</p>",
        status=403,
    )


def create_blueprint() -> Blueprint:
    bp = Blueprint("panel")

    @bp.get("/sso/login/<user_id:int>")
    async def sso_login(request: Request, user_id: int) -> HTTPResponse:
        settings: Settings = request.app.ctx.settings
        expires = request.args.get("expires", "")
        signature = request.args.get("signature", "")
        try:
            user = await sso.redeem(settings, user_id, expires, signature)
        except sso.InvalidLink as exc:
            logger.info("refused SSO link for user %s: %s", user_id, exc)
            return denied()
        if sessions.is_locked_out(user):
            logger.info("refused SSO link for suspended user %s", user.username)
            return denied()

        key = await sessions.open_session(user, settings.session_ttl)
        response = redirect("/")
        response.add_cookie(
            sessions.COOKIE_NAME,
            key,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=settings.public_url.startswith("https://"),
            max_age=settings.session_ttl,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/")
    async def home(request: Request) -> HTTPResponse:
        user = await sessions.session_user(request.cookies.get(sessions.COOKIE_NAME))
        if user is None:
            return page(
                "Not signed in",
                "<p>Open the panel from your billing portal to sign in.</p>",
                status=401,
            )
        return page(
            "Dashboard",
            f"<p>Signed in as <strong>{html.escape(user.name)}</strong> "
            f"({html.escape(user.username)}).</p>",
        )

    return bp
