"""The panel in headless Chromium against a real ``hostmgr serve``.

The server runs on SQLite with the real Docker engine and the stand-in n8n
image. Every page visited is saved as a PNG in ``HOSTMGR_SCREENSHOT_DIR`` (else
a pytest temporary directory). Waits are for conditions, with timeouts.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.test_cli import CREATE_STARTER
from tests.test_serve import Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 30_000
ADMIN_PASSWORD = "panel-admin-pass"
RESELLER_PASSWORD = "panel-reseller-pass"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/install.sh)"
)


class Panel:
    """The running server, and the integration API with an admin token."""

    def __init__(self, server: Server, token: str) -> None:
        self.server = server
        self.url = server.url
        self.api = httpx.Client(
            base_url=server.url + "/api/integration",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )

    def call(self, method: str, path: str, **body: object) -> dict:
        response = self.api.request(method, path, json=body or None)
        assert response.status_code < 300, response.text
        return response.json()

    def customer(self) -> tuple[str, str]:
        """A new customer with one running instance: (email, instance name)."""
        suffix = uuid.uuid4().hex[:8]
        email = f"jane-{suffix}@example.com"
        self.call(
            "POST",
            "/users",
            name=f"Jane {suffix}",
            email=email,
            password="customer-pass",
        )
        name = f"flows-{suffix}"
        self.call(
            "POST",
            "/instances/create",
            name=name,
            package="Starter",
            email=email,
            version="latest",
        )
        return email, name

    def sso_link(self, email: str) -> str:
        return self.call("POST", "/users/sso", email=email)["redirect_url"]


@pytest.fixture(scope="module")
def panel(tmp_path_factory, standin_image) -> Iterator[Panel]:
    tmp = tmp_path_factory.mktemp("panel-server")
    server = Server(
        tmp,
        f"sqlite://{tmp / 'hostmgr.sqlite3'}",
        HOSTMGR_RUNTIME="docker",
        HOSTMGR_IMAGE=standin_image,
        HOSTMGR_BASE_DOMAIN="panel.test",
    )
    server.env["HOSTMGR_PUBLIC_URL"] = server.url
    server.cli("init")
    token = server.admin_token()
    server.cli(
        "user",
        "create",
        "--role",
        "admin",
        "--email",
        "boss@example.com",
        "--name",
        "Bo Boss",
        "--username",
        "boss",
        "--password",
        ADMIN_PASSWORD,
    )
    server.cli(*CREATE_STARTER)
    with server.serving():
        panel = Panel(server, token)
        try:
            yield panel
        finally:
            for instance in panel.call("GET", "/instances")["instances"]:
                panel.api.post(f"/instances/{instance['name']}/terminate")
            panel.api.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    configured = os.environ.get("HOSTMGR_SCREENSHOT_DIR")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shoot(page, screenshots):
    def save(name: str) -> Path:
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def card(page: Page, name: str):
    return page.locator("article.instance", has=page.get_by_role("link", name=name))


def sign_in(page: Page, panel: Panel, login: str, password: str) -> None:
    page.goto(panel.url + "/panel/login")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_customer_journey(page, panel, shoot):
    email, name = panel.customer()

    page.goto(panel.sso_link(email))
    expect(page).to_have_url(panel.url + "/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    instance = card(page, name)
    expect(instance.locator('[data-field="status"]')).to_have_text("running")
    # The live stats have arrived once the CPU figure is a number.
    expect(instance.locator('[data-field="cpu"]')).to_have_text(re.compile(r"%"))
    expect(instance.locator('[data-field="memory"]')).to_have_text(re.compile("of"))
    page.mouse.click(1, 1)  # the skip link back out of view
    shoot("customer-dashboard")
    page.set_viewport_size({"width": 390, "height": 800})
    expect(instance.get_by_role("button", name=f"Stop {name}")).to_be_visible()
    shoot("customer-dashboard-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    instance.get_by_role("button", name=f"Stop {name}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Stopped {name}.")
    instance = card(page, name)
    expect(instance.locator('[data-field="status"]')).to_have_text("stopped")
    expect(instance.get_by_role("button", name=f"Stop {name}")).to_be_hidden()
    shoot("customer-dashboard-stopped")

    instance.get_by_role("button", name=f"Start {name}").click()
    expect(card(page, name).locator('[data-field="status"]')).to_have_text("running")

    card(page, name).get_by_role("link", name=f"Logs of {name}").click()
    logs = page.locator("#logs")
    expect(logs).to_contain_text("stand-in n8n listening on 5678")
    booted = logs.inner_text().count("listening on 5678")
    # The view follows: a restart from elsewhere shows up without a reload.
    panel.call("POST", f"/instances/{name}/restart")
    expect(logs).to_have_text(
        re.compile(r"(listening on 5678[\s\S]*){" + str(booted + 1) + "}")
    )
    shoot("customer-logs")

    page.get_by_role("link", name=f"Back to {name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("link", name=f"http://{name}.panel.test")).to_be_visible()
    shoot("customer-instance")


def test_customer_cannot_open_another_customers_instance(page, panel, shoot):
    _, theirs = panel.customer()
    mine, _ = panel.customer()
    page.goto(panel.sso_link(mine))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    response = page.goto(panel.url + f"/panel/instances/{theirs}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    shoot("forbidden")
    stats = page.request.get(panel.url + f"/panel/instances/{theirs}/stats.json")
    assert stats.status == 403


def test_admin_creates_a_package_and_a_token(page, panel, shoot):
    page.goto(panel.url + "/panel/login")
    shoot("login")
    sign_in(page, panel, "boss", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Server")).to_be_visible()
    shoot("admin-overview")

    page.get_by_role("link", name="Packages").click()
    form = page.locator("form", has=page.get_by_role("button", name="Add package"))
    form.get_by_label("Name", exact=True).fill("Pro Plan")
    form.get_by_label("CPU cores").fill("2")
    form.get_by_label("Memory (GB)").fill("2")
    form.get_by_label("Disk (GB)").fill("20")
    form.get_by_role("button", name="Add package").click()
    expect(page.get_by_role("status")).to_contain_text("Created the package Pro Plan")
    expect(page.get_by_role("link", name="Pro Plan")).to_be_visible()
    shoot("admin-packages")
    page.get_by_role("link", name="Pro Plan").click()
    expect(page.get_by_label("CPU cores")).to_have_value("2")
    shoot("admin-package")
    assert any(
        p["name"] == "Pro Plan" for p in panel.call("GET", "/packages")["packages"]
    )

    page.get_by_role("link", name="API tokens").click()
    form = page.locator("form", has=page.get_by_role("button", name="Create token"))
    form.get_by_label("Name", exact=True).fill("whmcs-from-panel")
    form.get_by_label("Allowed IPs").fill("127.0.0.1, ::1")
    form.get_by_role("button", name="Create token").click()
    secret_box = page.get_by_label("New token")
    expect(secret_box).to_have_value(re.compile(r"^hm_"))
    token = secret_box.input_value()
    shoot("admin-tokens-new")

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    expect(page.get_by_label("New token")).to_have_count(0)
    assert token not in page.content()
    shoot("admin-tokens")

    response = httpx.get(
        panel.url + "/api/integration/connection/test",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "boss@example.com"


def test_admin_pages(page, panel, shoot):
    email, name = panel.customer()
    sign_in(page, panel, "boss@example.com", ADMIN_PASSWORD)
    for label, heading, shot in (
        ("Instances", "Instances", "admin-instances"),
        ("Users", "Users", "admin-users"),
        ("Resellers", "Resellers", "admin-resellers"),
        ("Audit log", "Audit log", "admin-audit"),
    ):
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=label
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        shoot(shot)

    page.get_by_label("Path contains").fill("/instances/create")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody")).to_contain_text("/api/integration/instances/create")
    expect(page.locator("tbody")).not_to_contain_text("/users/sso")

    page.get_by_role("link", name="Users").click()
    page.get_by_label("Name, username or email").fill(email)
    page.get_by_role("button", name="Find").click()
    page.locator("tbody").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Edit")).to_be_visible()
    expect(card(page, name)).to_be_visible()
    shoot("admin-user")


def test_reseller_acts_as_a_customer_and_returns(page, panel, shoot):
    suffix = uuid.uuid4().hex[:6]
    panel.call(
        "POST",
        "/resellers",
        name=f"Acme {suffix}",
        username=f"acme{suffix}",
        email=f"ops-{suffix}@acme.example",
        password=RESELLER_PASSWORD,
    )
    sign_in(page, panel, f"acme{suffix}", RESELLER_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your customers")

    form = page.locator("form", has=page.get_by_role("button", name="Add customer"))
    form.get_by_label("Name", exact=True).fill("Carol Customer")
    form.get_by_label("Email").fill(f"carol-{suffix}@example.com")
    form.get_by_label("Password").fill("carol-password")
    form.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Carol Customer")
    shoot("reseller-customer")

    page.get_by_role("button", name="Open a session as Carol Customer").click()
    banner = page.get_by_role("region", name="Acting as a customer")
    expect(banner).to_contain_text("on behalf of Acme")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your instances")
    shoot("reseller-acting")

    banner.get_by_role("button", name="Return to my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your customers")
    expect(page.get_by_role("region", name="Acting as a customer")).to_have_count(0)
    expect(page.get_by_role("link", name="Carol Customer")).to_be_visible()
    shoot("reseller-home")
