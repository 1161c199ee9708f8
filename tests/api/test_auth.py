"""The integration API's gate: tokens, IP allow-lists, roles and the rate limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hostmgr.app import create_app
from hostmgr.models import ApiToken, Role
from hostmgr.plugins import create_plugin_manager
from tests.conftest import bearer, make_settings, make_token, make_user

URL = "/api/integration/connection/test"


async def test_missing_token_is_401(client, db):
    _, response = await client.get(URL)
    assert response.status == 401
    assert response.json == {"status": "error", "message": "Unauthenticated"}


async def test_unknown_token_is_401(client, admin):
    _, response = await client.get(URL, headers=bearer("hm_not-a-real-token"))
    assert response.status == 401
    assert response.json["status"] == "error"


async def test_non_bearer_scheme_is_401(client, admin):
    _, response = await client.get(URL, headers={"Authorization": "Basic YTpi"})
    assert response.status == 401


async def test_scheme_is_case_insensitive(client, admin):
    token = await make_token(admin)
    _, response = await client.get(URL, headers={"Authorization": f"bearer {token}"})
    assert response.status == 200


async def test_expired_token_is_401(client, admin):
    token = await make_token(admin, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    _, response = await client.get(URL, headers=bearer(token))
    assert response.status == 401
    assert "expired" in response.json["message"]


async def test_token_records_last_use(client, admin):
    token = await make_token(admin)
    await client.get(URL, headers=bearer(token))
    record = await ApiToken.get(user_id=admin.id)
    assert record.last_used_at is not None


async def test_standard_user_token_is_403(client, db):
    user = await make_user(Role.USER)
    _, response = await client.get(URL, headers=bearer(await make_token(user)))
    assert response.status == 403
    assert response.json["status"] == "error"


async def test_suspended_reseller_token_is_403(client, db):
    reseller = await make_user(Role.RESELLER, suspended=True)
    _, response = await client.get(URL, headers=bearer(await make_token(reseller)))
    assert response.status == 403
    assert "suspended" in response.json["message"]


async def test_suspension_stops_a_token_in_use_at_once(client, admin_headers):
    """Tokens are cached per worker; a suspension made here is seen at once."""
    reseller = await make_user(Role.RESELLER)
    headers = bearer(await make_token(reseller))
    _, response = await client.get(URL, headers=headers)
    assert response.status == 200

    _, response = await client.post(
        f"/api/integration/resellers/{reseller.username}/suspend",
        headers=admin_headers,
    )
    assert response.status == 200
    _, response = await client.get(URL, headers=headers)
    assert response.status == 403


def _app_behind_proxy(tmp_path, db, **overrides):
    settings = make_settings(tmp_path, db, proxies_count=1, **overrides)
    return create_app(
        settings,
        create_plugin_manager(),
        manage_db=False,
        name=f"hostmgr_{uuid.uuid4().hex[:8]}",
    )


async def test_ip_outside_allow_list_is_403(tmp_path, db, admin):
    client = _app_behind_proxy(tmp_path, db).asgi_client
    token = await make_token(admin, allowed_ips=["203.0.113.0/24"])
    headers = {**bearer(token), "X-Forwarded-For": "198.51.100.7"}
    _, response = await client.get(URL, headers=headers)
    assert response.status == 403
    assert "IP" in response.json["message"]


async def test_ip_inside_allow_list_passes(tmp_path, db, admin):
    client = _app_behind_proxy(tmp_path, db).asgi_client
    token = await make_token(admin, allowed_ips=["203.0.113.0/24", "2001:db8::/32"])
    for ip in ("203.0.113.9", "2001:db8::1"):
        headers = {**bearer(token), "X-Forwarded-For": ip}
        _, response = await client.get(URL, headers=headers)
        assert response.status == 200, ip


async def test_rate_limit_answers_429_with_retry_after(tmp_path, db, admin):
    client = _app_behind_proxy(tmp_path, db, rate_limit=3).asgi_client
    headers = bearer(await make_token(admin))
    statuses = []
    for _ in range(4):
        _, response = await client.get(URL, headers=headers)
        statuses.append(response.status)
    assert statuses == [200, 200, 200, 429]
    assert response.json == {"status": "error", "message": "Too many requests"}
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_rate_limit_is_per_token(tmp_path, db, admin):
    client = _app_behind_proxy(tmp_path, db, rate_limit=1).asgi_client
    first, second = bearer(await make_token(admin)), bearer(await make_token(admin))
    assert (await client.get(URL, headers=first))[1].status == 200
    assert (await client.get(URL, headers=first))[1].status == 429
    assert (await client.get(URL, headers=second))[1].status == 200


async def test_unknown_path_is_404_json(client, db):
    _, response = await client.get("/api/integration/no/such/thing")
    assert response.status == 404
    assert response.json == {"status": "error", "message": "Not found"}
    _, response = await client.get("/definitely-not-here")
    assert response.status == 404
    assert response.json["status"] == "error"


async def test_wrong_method_is_json(client, admin_headers):
    _, response = await client.delete(URL, headers=admin_headers)
    assert response.status == 405
    assert response.json["status"] == "error"
