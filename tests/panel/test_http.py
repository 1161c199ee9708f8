"""The panel over HTTP, without a browser: sign-in, cookies, CSRF, errors."""

from __future__ import annotations

import re

import pytest

from hostmgr.models import AuditEntry, PanelSession, Role
from hostmgr.panel import auth, throttle
from hostmgr.services import sessions
from hostmgr.services.accounts import set_suspended
from tests.conftest import PASSWORD, make_settings, make_user, started
from tests.panel.conftest import Visitor, make_instance


@pytest.fixture
def visitor(client, settings) -> Visitor:
    return Visitor(client, settings)


async def sign_in_with_password(visitor: Visitor, login: str, password: str):
    await visitor.sign_in(None)
    return await visitor.post("/panel/login", {"login": login, "password": password})


async def test_password_sign_in_sets_a_safe_cookie(visitor, db):
    user = await make_user(Role.USER)
    response = await sign_in_with_password(visitor, user.username, PASSWORD)
    assert response.status == 303
    assert response.headers["location"] == "/"
    cookie = next(
        c
        for c in response.headers.get_list("set-cookie")
        if c.startswith(f"{sessions.COOKIE_NAME}=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the test panel is plain HTTP
    assert await PanelSession.filter(user_id=user.id).count() == 1

    home = await visitor.get("/")
    assert home.status == 200
    assert user.name in home.text


async def test_sign_in_by_email_under_https_is_secure(tmp_path, db):
    from hostmgr.app import create_app
    from hostmgr.plugins import create_plugin_manager

    settings = make_settings(tmp_path, db, public_url="https://panel.example.com")
    app = create_app(settings, create_plugin_manager(), manage_db=False, name="tlsp")
    user = await make_user(Role.USER)
    async with started(app) as client:
        # Secure cookies come back only over https.
        client.http.base_url = "https://testserver"
        response = await sign_in_with_password(
            Visitor(client, settings), user.email.upper(), PASSWORD
        )
    assert response.status == 303
    cookies = response.headers.get_list("set-cookie")
    assert all("Secure" in c and "HttpOnly" in c for c in cookies), cookies


async def test_bad_password_and_unknown_account_answer_alike(visitor, db):
    user = await make_user(Role.USER)
    wrong = await sign_in_with_password(visitor, user.username, "not the password")
    unknown = await sign_in_with_password(visitor, "nobody-here", "not the password")
    assert wrong.status == unknown.status == 401
    assert auth.BAD_LOGIN in wrong.text and auth.BAD_LOGIN in unknown.text
    assert not await PanelSession.exists()

    def without_echo(page: str, login: str) -> str:
        page = page.replace(f'value="{login}"', "")
        return re.sub(r'value="[0-9a-f]{64}"', "", page)

    assert without_echo(wrong.text, user.username) == without_echo(
        unknown.text, "nobody-here"
    )


async def test_failed_sign_ins_are_throttled_per_account(visitor, db):
    user, other = await make_user(Role.USER), await make_user(Role.USER)
    for _ in range(throttle.PER_ACCOUNT):
        response = await sign_in_with_password(visitor, user.username, "wrong-pass")
        assert response.status == 401
    response = await sign_in_with_password(visitor, user.username, PASSWORD)
    assert response.status == 429
    assert "Too many attempts" in response.text
    assert not await PanelSession.filter(user_id=user.id).exists()

    response = await sign_in_with_password(visitor, other.username, PASSWORD)
    assert response.status == 303


async def test_suspended_users_cannot_sign_in(visitor, settings, db):
    user = await make_user(Role.USER, suspended=True)
    response = await sign_in_with_password(visitor, user.email, PASSWORD)
    assert response.status == 403
    assert "suspended" in response.text
    assert sessions.COOKIE_NAME not in response.headers.get("set-cookie", "")

    reseller = await make_user(Role.RESELLER)
    customer = await make_user(Role.USER, reseller=reseller)
    await set_suspended(reseller, True)
    response = await sign_in_with_password(visitor, customer.username, PASSWORD)
    assert response.status == 403
    assert not await PanelSession.exists()


async def test_a_session_ends_when_its_user_is_suspended(visitor, db):
    user = await make_user(Role.USER)
    await visitor.sign_in(user)
    assert (await visitor.get("/")).status == 200
    await set_suspended(user, True)
    assert (await visitor.get("/")).status == 401


async def test_logout_deletes_the_session(visitor, db):
    user = await make_user(Role.USER)
    await visitor.sign_in(user)
    assert await PanelSession.filter(user_id=user.id).count() == 1

    response = await visitor.post("/panel/logout")
    assert response.status == 303
    assert not await PanelSession.filter(user_id=user.id).exists()
    cleared = [
        c
        for c in response.headers.get_list("set-cookie")
        if c.startswith(f"{sessions.COOKIE_NAME}=")
    ]
    assert cleared and "Max-Age=0" in cleared[0]
    assert (await visitor.get("/")).status == 401


async def test_logout_is_post_only(visitor, db):
    user = await make_user(Role.USER)
    await visitor.sign_in(user)
    await visitor.get("/panel/logout")
    assert await PanelSession.filter(user_id=user.id).exists()


@pytest.mark.parametrize("token", [None, "", "0" * 64, "from-another-session"], ids=str)
async def test_posts_without_the_sessions_csrf_token_are_refused(
    visitor, settings, starter, token
):
    owner = await make_user(Role.USER)
    await make_instance(owner, starter, "csrf-target")
    if token == "from-another-session":
        await visitor.sign_in(await make_user(Role.USER))
        token = visitor.token
    await visitor.sign_in(owner)
    form = {} if token is None else {"csrf_token": token}

    for path in ("/panel/instances/csrf-target/stop", "/panel/logout"):
        _, response = await visitor.client.post(path, data=form)
        assert response.status == 403, path
        assert auth.CSRF_REFUSED in response.text
    assert await PanelSession.filter(user_id=owner.id).exists()


async def test_anonymous_forms_need_the_visitors_csrf_token(visitor, db):
    user = await make_user(Role.USER)
    visitor.client.http.cookies.clear()
    _, response = await visitor.client.post(
        "/panel/login", data={"login": user.username, "password": PASSWORD}
    )
    assert response.status == 403
    assert not await PanelSession.exists()


async def test_error_pages_are_html_without_traces(visitor, db, monkeypatch):
    user = await make_user(Role.USER)
    await visitor.sign_in(user)

    missing = await visitor.get("/panel/no-such-page")
    assert missing.status == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in missing.text

    json_missing = await visitor.get("/panel/instances/nothing-here/stats.json")
    assert json_missing.status == 404
    assert json_missing.json["status"] == "error"

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("hostmgr.panel.customer.reachable_rows", explode)
    broken = await visitor.get("/")
    assert broken.status == 500
    assert broken.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in broken.text
    assert "secret internal detail" not in broken.text
    assert "Traceback" not in broken.text


async def test_pages_carry_a_strict_content_security_policy(visitor, db):
    await visitor.sign_in(await make_user(Role.USER))
    page = await visitor.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text


async def test_a_suspended_instance_start_says_why(visitor, starter):
    owner = await make_user(Role.USER)
    instance = await make_instance(owner, starter, "held-back")
    instance.suspended, instance.suspend_reason = True, "Unpaid invoice"
    await instance.save()
    await visitor.sign_in(owner)

    response = await visitor.post("/panel/instances/held-back/start")
    assert response.status == 303
    page = await visitor.get(response.headers["location"])
    assert "Instance is suspended: Unpaid invoice" in page.text
    assert "until your provider lifts the suspension" in page.text
    # Shown once: the flash cookie is dropped by the page that showed it.
    again = await visitor.get(response.headers["location"])
    assert "Unpaid invoice. It stays stopped" not in again.text


async def test_every_panel_post_is_audited_without_secrets(visitor, db):
    user = await make_user(Role.USER)
    await sign_in_with_password(visitor, user.username, PASSWORD)
    await visitor.sign_in(user)
    await visitor.post("/panel/logout")
    await visitor.client.app.ctx.audit.flush()

    entries = await AuditEntry.filter(path__startswith="/panel/").order_by("id")
    assert [(e.path, e.status, e.user_id) for e in entries] == [
        ("/panel/login", 303, user.id),
        ("/panel/logout", 303, user.id),
    ]
    assert entries[0].details["form"]["password"] == "[redacted]"
    assert "csrf_token" not in entries[0].details["form"]
