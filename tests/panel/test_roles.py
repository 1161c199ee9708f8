"""Every panel route, as every kind of visitor: roles and ownership on the server.

The table names, for each route, what each visitor gets. ``OK`` is any answer
that is not a refusal (a page, a redirect, or 422 for the empty form sent).
A test fails when a panel route is added without a row here.
"""

from __future__ import annotations

import dataclasses

import pytest

from hostmgr.models import ApiToken, Role
from tests.conftest import make_token, make_user
from tests.panel.conftest import Visitor, make_instance

OK = "ok"
ACTORS = ("anonymous", "stranger", "owner", "other_reseller", "reseller", "admin")


def expect(**overrides: object) -> dict[str, object]:
    """Refusals for everyone, then ``overrides``."""
    table: dict[str, object] = {actor: 403 for actor in ACTORS}
    table["anonymous"] = 401
    table.update(overrides)
    return table


ANYONE = {actor: OK for actor in ACTORS}
SIGNED_IN = expect(**{actor: OK for actor in ACTORS[1:]})
INSTANCE = expect(owner=OK, reseller=OK, admin=OK)
SELLER = expect(reseller=OK, admin=OK)
ADMIN = expect(admin=OK)
RESELLER = expect(reseller=OK, other_reseller=OK)
OWN_CUSTOMER = expect(reseller=OK, other_reseller=404)
NOWHERE = {actor: 404 for actor in ACTORS}

I = "/panel/instances/owned-one"  # noqa: E741 - the owner's instance
ROUTES: list[tuple[str, str, dict[str, object]]] = [
    ("GET", "/", expect(**{a: OK for a in ACTORS[1:]})),
    ("GET", "/panel/login", ANYONE),
    ("POST", "/panel/login", ANYONE),
    ("POST", "/panel/logout", ANYONE),
    ("POST", "/panel/return", SIGNED_IN),
    ("GET", "/panel/instances", SIGNED_IN),
    ("GET", I, INSTANCE),
    ("GET", f"{I}/stats.json", INSTANCE),
    ("GET", f"{I}/logs", INSTANCE),
    ("GET", f"{I}/logs.json", INSTANCE),
    ("POST", f"{I}/start", INSTANCE),
    ("POST", f"{I}/stop", INSTANCE),
    ("POST", f"{I}/restart", INSTANCE),
    ("POST", f"{I}/suspend", SELLER),
    ("POST", f"{I}/unsuspend", SELLER),
    ("POST", "/panel/reseller/customers", RESELLER),
    ("GET", "/panel/reseller/customers/{owner}", OWN_CUSTOMER),
    ("POST", "/panel/reseller/customers/{owner}/act", OWN_CUSTOMER),
    ("GET", "/panel/admin/users", ADMIN),
    ("POST", "/panel/admin/users", ADMIN),
    ("GET", "/panel/admin/resellers", ADMIN),
    ("POST", "/panel/admin/resellers", ADMIN),
    ("GET", "/panel/admin/users/{spare}", ADMIN),
    ("POST", "/panel/admin/users/{spare}", ADMIN),
    ("POST", "/panel/admin/users/{spare}/suspend", ADMIN),
    ("POST", "/panel/admin/users/{spare}/unsuspend", ADMIN),
    ("POST", "/panel/admin/users/{spare}/act", ADMIN),
    ("GET", "/panel/admin/packages", ADMIN),
    ("POST", "/panel/admin/packages", ADMIN),
    ("GET", "/panel/admin/packages/{package}", ADMIN),
    ("POST", "/panel/admin/packages/{package}", ADMIN),
    ("POST", "/panel/admin/packages/{package}/deactivate", ADMIN),
    ("POST", "/panel/admin/packages/{package}/activate", ADMIN),
    ("GET", "/panel/admin/tokens", ADMIN),
    ("POST", "/panel/admin/tokens", ADMIN),
    ("POST", "/panel/admin/tokens/{token}/ips", ADMIN),
    ("POST", "/panel/admin/tokens/{token}/revoke", ADMIN),
    ("GET", "/panel/admin/audit", ADMIN),
    ("GET", "/panel/no/such/page", NOWHERE),
    ("POST", "/panel/no/such/page", NOWHERE),
]
# Checked elsewhere: the SSO landing (tests/test_sso.py) and the static files.
UNLISTED = {"/sso/login/<user_id:int>", "/panel/static/<__file_uri__:path>"}


@dataclasses.dataclass
class World:
    actors: dict[str, object]
    ids: dict[str, object]


@pytest.fixture
async def world(starter) -> World:
    reseller = await make_user(Role.RESELLER)
    owner = await make_user(Role.USER, reseller=reseller)
    stranger = await make_user(Role.USER)
    admin = await make_user(Role.ADMIN)
    spare = await make_user(Role.USER)
    await make_instance(owner, starter, "owned-one")
    await make_instance(stranger, starter, "strangers-one")
    await make_token(admin)
    token = await ApiToken.get(user_id=admin.id)
    return World(
        actors={
            "anonymous": None,
            "stranger": stranger,
            "owner": owner,
            "other_reseller": await make_user(Role.RESELLER),
            "reseller": reseller,
            "admin": admin,
        },
        ids={
            "owner": owner.username,
            "spare": spare.id,
            "package": starter.id,
            "token": token.id,
        },
    )


async def test_the_table_covers_every_panel_route(client, app):
    dummy = {"owner": "someone", "spare": 1, "package": 1, "token": 1}
    covered = set()
    for method, path, _ in ROUTES:
        route, _, _ = app.router.get(path.format(**dummy), method, None)
        covered.add((route.name, method))
    panel_routes = {
        (route.name, method)
        for route in app.router.routes
        if route.name.split(".")[1] == "panel"
        and "/" + route.path.lstrip("/") not in UNLISTED
        for method in route.methods
    }
    assert panel_routes - covered == set()


@pytest.mark.parametrize(
    ("method", "path", "expected"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
async def test_route_answers_each_visitor_as_the_table_says(
    client, settings, world, method, path, expected
):
    visitor = Visitor(client, settings)
    url = path.format(**world.ids)
    for actor in ACTORS:
        await visitor.sign_in(world.actors[actor])
        if method == "GET":
            response = await visitor.get(url)
        else:
            response = await visitor.post(url)
        want = expected[actor]
        if want == OK:
            assert response.status < 400 or response.status == 422, (
                actor,
                response.status,
                response.text[:300],
            )
        else:
            assert response.status == want, (actor, response.status)
        if url.endswith(".json"):
            assert response.headers["content-type"].startswith("application/json")
            if response.status >= 400:
                assert response.json["status"] == "error"
        elif response.status >= 400:
            assert response.headers["content-type"].startswith("text/html")
