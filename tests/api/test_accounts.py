"""``/users``, ``/resellers``, ``/users/sso``: creation, validation and ownership."""

from __future__ import annotations

import json

import pytest

from hostmgr.api import schemas
from hostmgr.models import Instance, InstanceStatus, Role, User
from hostmgr.security import verify_password
from tests.conftest import PASSWORD, bearer, make_token, make_user
from tests.shapes import assert_shape

API = "/api/integration"
NEW = {"name": "Jane Doe", "email": "Jane@Example.com", "password": "s3cret-pass"}


async def test_admin_creates_user(client, admin_headers):
    _, response = await client.post(f"{API}/users", json=NEW, headers=admin_headers)
    assert response.status == 201
    assert_shape(response.json, schemas.UserCreated)
    user = await User.get(id=response.json["user_id"])
    assert (user.email, user.role, user.reseller_id) == (
        "jane@example.com",
        Role.USER,
        None,
    )
    assert user.username == "jane"
    assert verify_password(user.password_hash, "s3cret-pass")


async def test_reseller_creates_user_it_owns(client, reseller, reseller_headers):
    _, response = await client.post(f"{API}/users", json=NEW, headers=reseller_headers)
    assert response.status == 201
    user = await User.get(id=response.json["user_id"])
    assert user.reseller_id == reseller.id


async def test_admin_creates_reseller(client, admin_headers):
    body = {**NEW, "username": "jane-hosting"}
    _, response = await client.post(
        f"{API}/resellers", json=body, headers=admin_headers
    )
    assert response.status == 201
    assert_shape(response.json, schemas.UserCreated)
    user = await User.get(id=response.json["user_id"])
    assert (user.role, user.username) == (Role.RESELLER, "jane-hosting")


async def test_reseller_cannot_create_reseller(client, reseller_headers):
    _, response = await client.post(
        f"{API}/resellers", json=NEW, headers=reseller_headers
    )
    assert response.status == 403
    assert not await User.filter(email="jane@example.com").exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": 5, "email": ["x"], "password": True}, {"name", "email", "password"}),
        ({}, {"name", "email", "password"}),
        ({**NEW, "email": "not-an-email"}, {"email"}),
        ({**NEW, "password": "short"}, {"password"}),
        ({**NEW, "name": "x" * 256}, {"name"}),
        ({**NEW, "username": "No Spaces!"}, {"username"}),
    ],
    ids=[
        "wrong-types",
        "missing",
        "bad-email",
        "short-password",
        "long-name",
        "bad-username",
    ],
)
async def test_invalid_bodies_are_422_per_field(client, admin_headers, body, fields):
    _, response = await client.post(f"{API}/users", json=body, headers=admin_headers)
    assert response.status == 422
    assert response.json["status"] == "error"
    assert set(response.json["errors"]) == fields
    assert all(
        isinstance(m, str) for msgs in response.json["errors"].values() for m in msgs
    )
    assert await User.all().count() == 1


async def test_missing_field_message_names_the_field(client, admin_headers):
    _, response = await client.post(
        f"{API}/users",
        json={"name": "A", "email": "a@example.com"},
        headers=admin_headers,
    )
    assert response.json["errors"] == {"password": ["The password field is required."]}


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b"\xff\xfe", b'"a string"'],
    ids=["broken", "array", "binary", "string"],
)
async def test_non_json_bodies_are_422(client, admin_headers, raw):
    _, response = await client.post(f"{API}/users", content=raw, headers=admin_headers)
    assert response.status == 422
    assert set(response.json["errors"]) == {"body"}


async def test_oversized_body_is_422(client, admin_headers):
    body = json.dumps({**NEW, "padding": "x" * 70_000})
    _, response = await client.post(f"{API}/users", content=body, headers=admin_headers)
    assert response.status == 422
    assert "body" in response.json["errors"]
    assert not await User.filter(email="jane@example.com").exists()


@pytest.mark.parametrize("field", ["email", "username"])
async def test_duplicates_are_422(client, admin_headers, field):
    await make_user(Role.USER, email="taken@example.com")
    taken = await User.get(email="taken@example.com")
    body = {**NEW, "username": "fresh-name"}
    body[field] = "TAKEN@example.com" if field == "email" else taken.username
    _, response = await client.post(f"{API}/users", json=body, headers=admin_headers)
    assert response.status == 422
    assert list(response.json["errors"]) == [field]
    assert await User.all().count() == 2


async def test_extra_fields_are_ignored(client, admin_headers):
    body = {**NEW, "whmcs_service_id": 42}
    _, response = await client.post(f"{API}/users", json=body, headers=admin_headers)
    assert response.status == 201


# --- SSO -----------------------------------------------------------------------


async def test_sso_by_email_and_by_username(client, admin_headers):
    user = await make_user(Role.USER, email="sso@example.com")
    for body in ({"email": "SSO@example.com"}, {"username": user.username}):
        _, response = await client.post(
            f"{API}/users/sso", json=body, headers=admin_headers
        )
        assert response.status == 200, body
        assert_shape(response.json, schemas.SsoLink)
        url = response.json["redirect_url"]
        assert url.startswith(f"http://panel.test/sso/login/{user.id}?expires=")
        assert "&signature=" in url


async def test_sso_needs_a_target(client, admin_headers):
    _, response = await client.post(f"{API}/users/sso", json={}, headers=admin_headers)
    assert response.status == 422


async def test_sso_unknown_user_is_404(client, admin_headers):
    _, response = await client.post(
        f"{API}/users/sso", json={"email": "no@example.com"}, headers=admin_headers
    )
    assert response.status == 404


async def test_sso_for_suspended_user_is_403(client, admin_headers):
    user = await make_user(Role.USER, suspended=True)
    _, response = await client.post(
        f"{API}/users/sso", json={"email": user.email}, headers=admin_headers
    )
    assert response.status == 403


async def test_reseller_cannot_sso_into_another_resellers_user(
    client, reseller_headers
):
    other = await make_user(Role.RESELLER)
    theirs = await make_user(Role.USER, reseller=other)
    unowned = await make_user(Role.USER)
    for target in (theirs, unowned, other):
        _, response = await client.post(
            f"{API}/users/sso", json={"email": target.email}, headers=reseller_headers
        )
        assert response.status in (403, 404), target.email
        assert "redirect_url" not in response.json


async def test_reseller_can_sso_into_its_own_user(client, reseller, reseller_headers):
    mine = await make_user(Role.USER, reseller=reseller)
    _, response = await client.post(
        f"{API}/users/sso", json={"email": mine.email}, headers=reseller_headers
    )
    assert response.status == 200


# --- reseller management ---------------------------------------------------------


async def test_reseller_list_and_show_shapes(client, admin_headers, reseller, starter):
    customer = await make_user(Role.USER, reseller=reseller)
    await Instance.create(
        name="a",
        domain="a.hosted.test",
        user=customer,
        package=starter,
        status=InstanceStatus.RUNNING,
        encryption_key="x",
    )
    await Instance.create(
        name="b",
        domain="b.hosted.test",
        user=reseller,
        package=starter,
        status=InstanceStatus.SUSPENDED,
        suspended=True,
        encryption_key="x",
    )

    _, response = await client.get(f"{API}/resellers", headers=admin_headers)
    assert response.status == 200
    assert_shape(response.json, schemas.ResellerList)
    assert [r["username"] for r in response.json["resellers"]] == [reseller.username]

    _, response = await client.get(
        f"{API}/resellers/{reseller.username}", headers=admin_headers
    )
    assert response.status == 200
    assert_shape(response.json, schemas.ResellerDetail)
    assert response.json["reseller"]["users"] == 1
    assert response.json["reseller"]["instances"] == {
        "total": 2,
        "running": 1,
        "stopped": 1,
        "suspended": 1,
    }

    _, response = await client.get(
        f"{API}/resellers/{reseller.username}/instances", headers=admin_headers
    )
    assert_shape(response.json, schemas.ResellerInstances)
    assert response.json["instances"]["total"] == 2


async def test_update_reseller(client, admin_headers, reseller):
    body = {"name": "Renamed", "instance_limit": 5, "password": "new-password-1"}
    _, response = await client.patch(
        f"{API}/resellers/{reseller.username}", json=body, headers=admin_headers
    )
    assert response.status == 200
    assert_shape(response.json, schemas.ResellerDetail)
    fresh = await User.get(id=reseller.id)
    assert (fresh.name, fresh.instance_limit) == ("Renamed", 5)
    assert verify_password(fresh.password_hash, "new-password-1")
    assert not verify_password(fresh.password_hash, PASSWORD)


async def test_update_reseller_to_taken_email_is_422(client, admin_headers, reseller):
    _, response = await client.patch(
        f"{API}/resellers/{reseller.username}",
        json={"email": "admin@example.com"},
        headers=admin_headers,
    )
    assert response.status == 422
    assert list(response.json["errors"]) == ["email"]
    assert (await User.get(id=reseller.id)).email == reseller.email


async def test_suspend_and_unsuspend_reseller(client, admin_headers, reseller):
    token = bearer(await make_token(reseller))
    _, response = await client.post(
        f"{API}/resellers/{reseller.username}/suspend", headers=admin_headers
    )
    assert response.status == 200
    assert response.json == {"status": "success"}
    assert (await User.get(id=reseller.id)).suspended
    _, response = await client.get(f"{API}/connection/test", headers=token)
    assert response.status == 403

    _, response = await client.post(
        f"{API}/resellers/{reseller.username}/unsuspend", headers=admin_headers
    )
    assert response.status == 200
    _, response = await client.get(f"{API}/connection/test", headers=token)
    assert response.status == 200


async def test_delete_reseller(client, admin_headers, reseller):
    _, response = await client.delete(
        f"{API}/resellers/{reseller.username}", headers=admin_headers
    )
    assert response.status == 200
    assert not await User.filter(id=reseller.id).exists()


async def test_delete_reseller_with_customers_is_409(client, admin_headers, reseller):
    await make_user(Role.USER, reseller=reseller)
    _, response = await client.delete(
        f"{API}/resellers/{reseller.username}", headers=admin_headers
    )
    assert response.status == 409
    assert await User.filter(id=reseller.id).exists()


async def test_unknown_reseller_is_404(client, admin_headers):
    user = await make_user(Role.USER)
    for name in ("ghost", user.username):
        _, response = await client.get(f"{API}/resellers/{name}", headers=admin_headers)
        assert response.status == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/resellers"),
        ("get", "/resellers/{other}"),
        ("patch", "/resellers/{other}"),
        ("delete", "/resellers/{other}"),
        ("post", "/resellers/{other}/suspend"),
        ("post", "/resellers/{other}/unsuspend"),
        ("get", "/resellers/{other}/instances"),
    ],
)
async def test_reseller_management_is_admin_only(
    client, reseller_headers, method, path
):
    other = await make_user(Role.RESELLER)
    url = API + path.format(other=other.username)
    _, response = await getattr(client, method)(url, headers=reseller_headers)
    assert response.status == 403
    fresh = await User.get(id=other.id)
    assert not fresh.suspended
