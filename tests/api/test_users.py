"""``/users``: look-up and change of accounts, scoped by role, on both databases."""

from __future__ import annotations

import pytest

from hostmgr.api import schemas
from hostmgr.models import Role, User
from hostmgr.security import verify_password
from tests.conftest import PASSWORD, bearer, make_token, make_user
from tests.shapes import assert_shape

API = "/api/integration"


async def test_admin_finds_a_user_by_email_or_username(client, admin_headers, reseller):
    customer = await make_user(reseller=reseller)

    encoded = customer.email.replace("@", "%40")
    for ref in (customer.email.upper(), encoded, customer.username):
        _, response = await client.get(f"{API}/users/{ref}", headers=admin_headers)
        assert response.status == 200, response.json
        assert_shape(response.json, schemas.UserDetail)
        assert response.json["user"]["id"] == customer.id
        assert response.json["user"]["reseller"] == reseller.username
        assert "password" not in str(response.json)


async def test_unknown_user_is_404(client, admin_headers):
    _, response = await client.get(
        f"{API}/users/nobody@example.com", headers=admin_headers
    )
    assert response.status == 404
    assert response.json["status"] == "error"


async def test_list_is_scoped(client, admin, reseller, reseller_headers, admin_headers):
    mine = await make_user(reseller=reseller)
    stranger = await make_user()

    _, response = await client.get(f"{API}/users", headers=reseller_headers)
    assert response.status == 200
    assert_shape(response.json, schemas.UserList)
    ids = {user["id"] for user in response.json["users"]}
    assert ids == {reseller.id, mine.id}

    _, response = await client.get(f"{API}/users", headers=admin_headers)
    ids = {user["id"] for user in response.json["users"]}
    assert {admin.id, reseller.id, mine.id, stranger.id} <= ids


async def test_reseller_cannot_see_or_change_a_stranger(client, reseller_headers):
    stranger = await make_user()

    _, response = await client.get(
        f"{API}/users/{stranger.email}", headers=reseller_headers
    )
    assert response.status == 404
    _, response = await client.patch(
        f"{API}/users/{stranger.email}",
        json={"password": "another-password"},
        headers=reseller_headers,
    )
    assert response.status == 404
    stranger = await User.get(id=stranger.id)
    assert verify_password(stranger.password_hash, PASSWORD)


async def test_reseller_changes_its_customer(client, reseller, reseller_headers):
    customer = await make_user(reseller=reseller)

    _, response = await client.patch(
        f"{API}/users/{customer.username}",
        json={"password": "a-new-panel-password", "name": "Renamed"},
        headers=reseller_headers,
    )
    assert response.status == 200, response.json
    assert_shape(response.json, schemas.UserDetail)
    assert response.json["user"]["name"] == "Renamed"
    stored = await User.get(id=customer.id)
    assert verify_password(stored.password_hash, "a-new-panel-password")
    assert "a-new-panel-password" not in str(response.json)


async def test_reseller_cannot_raise_its_own_limit(client, reseller, reseller_headers):
    _, response = await client.patch(
        f"{API}/users/{reseller.username}",
        json={"instance_limit": 1000},
        headers=reseller_headers,
    )
    assert response.status == 403
    assert (await User.get(id=reseller.id)).instance_limit is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"instance_limit": -1}, "instance_limit"),
        ({"name": 42}, "name"),
    ],
)
async def test_bad_changes_are_422_and_change_nothing(
    client, admin_headers, body, field
):
    customer = await make_user()

    _, response = await client.patch(
        f"{API}/users/{customer.email}", json=body, headers=admin_headers
    )
    assert response.status == 422
    assert field in response.json["errors"]
    stored = await User.get(id=customer.id)
    assert (stored.email, stored.name) == (customer.email, customer.name)


async def test_duplicate_email_is_422(client, admin_headers):
    first, second = await make_user(), await make_user()

    _, response = await client.patch(
        f"{API}/users/{second.username}",
        json={"email": first.email},
        headers=admin_headers,
    )
    assert response.status == 422
    assert "email" in response.json["errors"]


async def test_standard_user_token_is_403(client):
    user = await make_user(Role.USER)
    headers = bearer(await make_token(user))

    _, response = await client.get(f"{API}/users/{user.email}", headers=headers)
    assert response.status == 403
