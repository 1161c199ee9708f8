"""Secrets at rest and in the audit trail, read straight from the database."""

from __future__ import annotations

from tortoise import Tortoise

from hostmgr.models import AuditEntry, Role
from tests.conftest import PASSWORD, bearer, make_token, make_user

API = "/api/integration"


async def _all_cells() -> str:
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "sqlite":
        _, rows = await conn.execute_query(
            "SELECT name AS t FROM sqlite_master WHERE type = 'table'"
        )
    else:
        _, rows = await conn.execute_query(
            "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'"
        )
    dump = []
    for row in rows:
        _, cells = await conn.execute_query(f'SELECT * FROM "{row["t"]}"')
        dump.extend(str(value) for cell in cells for value in dict(cell).values())
    return "\n".join(dump)


async def test_no_plain_token_or_password_in_the_database(client, settings):
    admin = await make_user(Role.ADMIN)
    token = await make_token(admin)
    body = {"name": "Pat", "email": "pat@example.com", "password": "pat-secret-99"}
    _, response = await client.post(f"{API}/users", json=body, headers=bearer(token))
    assert response.status == 201
    _, response = await client.post(
        f"{API}/users/sso", json={"email": "pat@example.com"}, headers=bearer(token)
    )
    await client.app.ctx.audit.flush()
    link = response.json["redirect_url"].removeprefix(settings.public_url)
    _, response = await client.get(link, follow_redirects=False)
    session_key = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]

    cells = await _all_cells()
    assert admin.email in cells  # the dump really holds the data
    for secret in (
        token,
        token.removeprefix("hm_"),
        PASSWORD,
        "pat-secret-99",
        session_key,
        settings.secret_key,
    ):
        assert secret not in cells
    assert link.split("signature=")[1] not in cells


async def test_audit_entry_per_call_with_secrets_redacted(client, db):
    admin = await make_user(Role.ADMIN)
    token = await make_token(admin)
    body = {"name": "Pat", "email": "pat@example.com", "password": "pat-secret-99"}
    await client.post(f"{API}/users", json=body, headers=bearer(token))
    await client.get(f"{API}/packages/404", headers=bearer(token))
    await client.get(f"{API}/packages", headers=bearer("hm_wrong"))
    await client.app.ctx.audit.flush()  # entries are written behind the answers

    entries = await AuditEntry.all().order_by("id")
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("POST", f"{API}/users", 201),
        ("GET", f"{API}/packages/404", 404),
        ("GET", f"{API}/packages", 401),
    ]
    first = entries[0]
    assert first.user_id == admin.id and first.token_id is not None
    assert first.details["body"]["password"] == "[redacted]"
    assert first.details["body"]["email"] == "pat@example.com"
    assert first.ip == "127.0.0.1"
    assert first.duration_ms >= 0
    assert entries[2].user_id is None
    assert "pat-secret-99" not in await _all_cells()


async def test_responses_never_carry_password_hashes(client, admin_headers, reseller):
    for path in ("/resellers", f"/resellers/{reseller.username}"):
        _, response = await client.get(API + path, headers=admin_headers)
        assert "argon2" not in response.text
        assert "password" not in response.text
