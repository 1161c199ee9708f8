"""SSO links: signed, expiring, one use, and a panel session behind them."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from hostmgr.models import PanelSession, Role
from hostmgr.services import sessions, sso
from hostmgr.services.accounts import set_suspended
from tests.conftest import make_user


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_link_logs_in_once(client, settings):
    user = await make_user(Role.USER)
    link = _path(sso.make_link(settings, user))

    _, response = await client.get(link, follow_redirects=False)
    assert response.status == 302
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the test panel is served over plain HTTP

    _, home = await client.get("/")
    assert home.status == 200
    assert user.name in home.text

    _, again = await client.get(link, follow_redirects=False)
    assert again.status == 403
    assert "set-cookie" not in again.headers
    assert "invalid, expired or already used" in again.text


async def test_secure_cookie_under_https(tmp_path, db):
    from hostmgr.app import create_app
    from hostmgr.plugins import create_plugin_manager
    from tests.conftest import make_settings, started

    settings = make_settings(tmp_path, db, public_url="https://panel.example.com")
    app = create_app(settings, create_plugin_manager(), manage_db=False, name="tls")
    user = await make_user(Role.USER)
    async with started(app) as client:
        _, response = await client.get(
            _path(sso.make_link(settings, user)), follow_redirects=False
        )
    assert response.status == 302
    assert "Secure" in response.headers["set-cookie"]


async def test_changed_signature_is_refused(client, settings):
    user = await make_user(Role.USER)
    link = _path(sso.make_link(settings, user))
    last = link[-1]
    tampered = link[:-1] + ("A" if last != "A" else "B")
    _, response = await client.get(tampered, follow_redirects=False)
    assert response.status == 403
    assert not await PanelSession.exists()


async def test_other_user_id_is_refused(client, settings):
    user, other = await make_user(Role.USER), await make_user(Role.USER)
    link = _path(sso.make_link(settings, user))
    _, response = await client.get(
        link.replace(f"/login/{user.id}?", f"/login/{other.id}?"),
        follow_redirects=False,
    )
    assert response.status == 403


async def test_changed_expiry_is_refused(client, settings):
    user = await make_user(Role.USER)
    link = _path(sso.make_link(settings, user))
    expires = parse_qs(urlsplit(link).query)["expires"][0]
    longer = link.replace(f"expires={expires}", f"expires={int(expires) + 3600}")
    _, response = await client.get(longer, follow_redirects=False)
    assert response.status == 403


async def test_expired_link_is_refused(client, settings, monkeypatch):
    user = await make_user(Role.USER)
    issued = time.time() - settings.sso_ttl - 5
    monkeypatch.setattr(sso.time, "time", lambda: issued)
    link = _path(sso.make_link(settings, user))
    monkeypatch.undo()
    _, response = await client.get(link, follow_redirects=False)
    assert response.status == 403
    assert not await PanelSession.exists()


async def test_link_signed_with_another_secret_is_refused(client, settings, tmp_path):
    from tests.conftest import make_settings

    user = await make_user(Role.USER)
    foreign = make_settings(tmp_path, settings.database_url, secret_key="y" * 40)
    _, response = await client.get(
        _path(sso.make_link(foreign, user)), follow_redirects=False
    )
    assert response.status == 403


async def test_suspended_user_cannot_use_a_link(client, settings):
    user = await make_user(Role.USER)
    link = _path(sso.make_link(settings, user))
    await set_suspended(user, True)
    _, response = await client.get(link, follow_redirects=False)
    assert response.status == 403


async def test_customer_of_suspended_reseller_is_locked_out(client, settings):
    reseller = await make_user(Role.RESELLER)
    user = await make_user(Role.USER, reseller=reseller)
    link = _path(sso.make_link(settings, user))
    _, response = await client.get(link, follow_redirects=False)
    assert response.status == 302
    await set_suspended(reseller, True)
    _, home = await client.get("/")
    assert home.status == 401


async def test_home_without_session_is_401(client, db):
    _, response = await client.get("/")
    assert response.status == 401
    assert "Not signed in" in response.text


async def test_malformed_link_is_refused(client, db):
    user = await make_user(Role.USER)
    for query in ("", "?expires=abc", "?expires=1&signature=not.a.jwt"):
        _, response = await client.get(f"/sso/login/{user.id}{query}")
        assert response.status == 403, query
