"""The reseller's pages over HTTP: customers, and acting as one of them."""

from __future__ import annotations

from hostmgr.models import AuditEntry, PanelSession, Role, User
from hostmgr.panel import cookies
from tests.conftest import make_user
from tests.panel.conftest import Visitor, csrf_in


async def test_reseller_creates_customers_of_its_own(client, settings, db):
    reseller, rival = await make_user(Role.RESELLER), await make_user(Role.RESELLER)
    visitor = Visitor(client, settings)
    await visitor.sign_in(reseller)
    response = await visitor.post(
        "/panel/reseller/customers",
        {"name": "Carol", "email": "carol@example.com", "password": "carol-pass"},
    )
    assert response.status == 303
    carol = await User.get(email="carol@example.com")
    assert (carol.role, carol.reseller_id) == (Role.USER, reseller.id)
    home = await visitor.get("/")
    assert "carol@example.com" in home.text

    short = await visitor.post(
        "/panel/reseller/customers",
        {"name": "Dave", "email": "dave@example.com", "password": "short"},
    )
    assert short.status == 422
    assert not await User.filter(email="dave@example.com").exists()

    await visitor.sign_in(rival)
    assert "carol@example.com" not in (await visitor.get("/")).text
    assert (
        await visitor.get(f"/panel/reseller/customers/{carol.username}")
    ).status == 404


async def test_acting_as_a_customer_is_audited_and_ends(client, settings, db):
    reseller = await make_user(Role.RESELLER)
    customer = await make_user(Role.USER, reseller=reseller)
    visitor = Visitor(client, settings)
    await visitor.sign_in(reseller)

    response = await visitor.post(f"/panel/reseller/customers/{customer.username}/act")
    assert response.status == 303
    page = await visitor.get("/")
    assert f"You are acting as <strong>{customer.name}</strong>" in page.text
    assert f"on behalf of {reseller.name}" in page.text
    assert visitor.client.http.cookies.get(cookies.RETURN)

    visitor.token = csrf_in(page.text)
    back = await visitor.post("/panel/return")
    assert back.status == 303
    home = await visitor.get("/")
    assert "Your customers" in home.text and "acting as" not in home.text
    assert not await PanelSession.filter(user_id=customer.id).exists()
    assert await PanelSession.filter(user_id=reseller.id).count() == 1

    await client.app.ctx.audit.flush()
    entry = await AuditEntry.get(path__endswith="/act")
    assert (entry.user_id, entry.details["acting_as"]) == (
        reseller.id,
        customer.username,
    )
    ended = await AuditEntry.get(path="/panel/return")
    assert ended.user_id == customer.id
    assert ended.details["on_behalf_of"] == reseller.username


async def test_a_suspended_customer_cannot_be_acted_as(client, settings, db):
    reseller = await make_user(Role.RESELLER)
    customer = await make_user(Role.USER, reseller=reseller, suspended=True)
    visitor = Visitor(client, settings)
    await visitor.sign_in(reseller)
    response = await visitor.post(f"/panel/reseller/customers/{customer.username}/act")
    assert response.status == 403
    assert not await PanelSession.filter(user_id=customer.id).exists()


async def test_a_return_cookie_of_someone_else_gives_no_way_back(client, settings, db):
    reseller = await make_user(Role.RESELLER)
    stranger = await make_user(Role.USER)
    visitor = Visitor(client, settings)
    await visitor.sign_in(reseller)
    own_key = visitor.client.http.cookies.get(cookies.SESSION)
    await visitor.sign_in(stranger)
    visitor.client.http.cookies.set(cookies.RETURN, own_key)
    page = await visitor.get("/")
    assert "acting as" not in page.text
    await visitor.post("/panel/return")
    assert stranger.name in (await visitor.get("/")).text
