"""The Caddy router against a real Caddy, with a small upstream standing in for n8n."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hostmgr_proxy_caddy import CaddyRouter, CaddySettings

from hostmgr.errors import ConfigError
from hostmgr.routing import ProxyUnavailable, Route, RouteState
from tests.conftest import make_settings
from tests.routing.conftest import Caddy, through

DOMAIN = "flow.hosted.test"


class Upstream:
    """Answers plain requests with its name, and echoes upper-cased after an upgrade."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if b"upgrade: websocket" in head.lower():
                writer.write(
                    b"HTTP/1.1 101 Switching Protocols\r\n"
                    b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                )
                await writer.drain()
                while data := await reader.read(1024):
                    writer.write(data.upper())
                    await writer.drain()
            else:
                body = f"{self.name} {head.split()[1].decode()}".encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream("instance")
    await server.start()
    yield server
    await server.stop()


def router_for(tmp_path: Path, caddy: Caddy, **extra: str) -> CaddyRouter:
    settings = make_settings(tmp_path, "sqlite://unused", **caddy.settings(**extra))
    return CaddyRouter(CaddySettings.from_settings(settings))


@pytest.fixture
async def router(tmp_path: Path, caddy: Caddy) -> AsyncIterator[CaddyRouter]:
    router = router_for(tmp_path, caddy)
    await router.reconcile([])
    yield router
    await router.close()


async def test_a_route_reaches_its_port_and_follows_the_state(
    router, caddy, upstream, http
):
    await router.set_route(Route(DOMAIN, upstream.port))
    response = await through(http, caddy, DOMAIN, "/healthz")
    assert (response.status_code, response.text) == (200, "instance /healthz")

    await router.set_route(Route(DOMAIN, upstream.port, RouteState.SUSPENDED))
    response = await through(http, caddy, DOMAIN, "/healthz")
    assert response.status_code == 503
    assert "text/html" in response.headers["content-type"]
    assert f"{DOMAIN} is suspended" in response.text

    await router.set_route(Route(DOMAIN, upstream.port))
    assert (await through(http, caddy, DOMAIN)).status_code == 200
    # Replaced in place, never added twice.
    ids = [r.get("@id") for r in caddy.config("apps/http/servers/hostmgr/routes")]
    assert ids.count(f"hostmgr-route-{DOMAIN}") == 1

    await router.remove_route(DOMAIN)
    response = await through(http, caddy, DOMAIN)
    assert response.status_code == 404
    assert "No instance here" in response.text
    await router.remove_route(DOMAIN)  # already gone: fine


async def test_a_stopped_instance_gets_a_friendly_502(router, caddy, upstream, http):
    await router.set_route(Route(DOMAIN, upstream.port))
    await upstream.stop()
    response = await through(http, caddy, DOMAIN)
    assert response.status_code == 502
    assert "This instance is not running" in response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_unknown_hosts_get_a_404_page_that_does_not_echo_the_host(
    router, caddy, http
):
    response = await through(http, caddy, "<script>x</script>.hosted.test")
    assert response.status_code in (400, 404)
    assert "<script>x" not in response.text


async def test_websocket_upgrades_pass_through(router, caddy, upstream):
    await router.set_route(Route(DOMAIN, upstream.port))
    reader, writer = await asyncio.open_connection("127.0.0.1", caddy.http_port)
    writer.write(
        f"GET /rest/push HTTP/1.1\r\nHost: {DOMAIN}\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "\r\n".encode()
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    writer.write(b"hello over the socket")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(1024), 5) == b"HELLO OVER THE SOCKET"
    writer.close()


async def test_reconcile_restores_routes_and_leaves_other_sites_alone(
    tmp_path, caddy, upstream, http
):
    other_port = caddy.https_port  # unused with TLS off: free for another site
    other = {
        "listen": [f"127.0.0.1:{other_port}"],
        "routes": [{"handle": [{"handler": "static_response", "body": "other site"}]}],
    }
    added = await http.post(
        f"{caddy.admin_url}/config/apps", json={"http": {"servers": {"other": other}}}
    )
    assert added.status_code == 200, added.text

    router = router_for(tmp_path, caddy)
    try:
        assert not await router.in_sync()
        routes = [Route(DOMAIN, upstream.port), Route("b.hosted.test", upstream.port)]
        await router.reconcile(routes)
        assert await router.in_sync()
        await router.set_route(Route("c.hosted.test", upstream.port))
        await router.remove_route("b.hosted.test")
        # A reconcile makes Caddy hold exactly the routes given.
        await router.reconcile(routes[:1])
    finally:
        await router.close()

    assert (await through(http, caddy, DOMAIN)).status_code == 200
    assert (await through(http, caddy, "b.hosted.test")).status_code == 404
    assert (await through(http, caddy, "c.hosted.test")).status_code == 404
    response = await http.get(f"http://127.0.0.1:{other_port}/")
    assert response.text == "other site"


async def test_tls_auto_asks_acme_for_every_domain_and_redirects_http(
    tmp_path, caddy, upstream, http
):
    router = router_for(
        tmp_path,
        caddy,
        tls="auto",
        acme_email="ops@example.com",
        panel_domain="panel.example.com",
    )
    try:
        await router.reconcile([Route("first.example.com", upstream.port)])
        await router.set_route(Route("second.example.com", upstream.port))
    finally:
        await router.close()

    # What Caddy itself reports as its running config.
    policies = caddy.config("apps/tls/automation/policies")
    by_subject = {policy["subjects"][0]: policy for policy in policies}
    assert set(by_subject) == {
        "first.example.com",
        "second.example.com",
        "panel.example.com",
    }
    for policy in policies:
        assert policy["issuers"] == [{"module": "acme", "email": "ops@example.com"}]
    server = caddy.config("apps/http/servers/hostmgr")
    assert "automatic_https" not in server
    assert server["listen"] == [f"127.0.0.1:{caddy.https_port}"]

    response = await http.get(
        f"http://127.0.0.1:{caddy.http_port}/webhook/x",
        headers={"Host": "second.example.com"},
    )
    assert response.status_code == 308
    assert response.headers["location"].startswith("https://second.example.com")
    assert response.headers["location"].endswith("/webhook/x")


async def test_the_panel_gets_its_own_domain(tmp_path, caddy, upstream, http):
    settings = make_settings(
        tmp_path,
        "sqlite://unused",
        host="0.0.0.0",
        port=str(upstream.port),
        **caddy.settings(panel_domain="panel.hosted.test"),
    )
    router = CaddyRouter(CaddySettings.from_settings(settings))
    try:
        await router.reconcile([])
    finally:
        await router.close()
    response = await through(http, caddy, "panel.hosted.test", "/sso/login/1")
    assert response.text == "instance /sso/login/1"


async def test_a_proxy_that_is_down_is_a_typed_failure(tmp_path, caddy):
    router = router_for(tmp_path, caddy)
    caddy.stop()
    try:
        with pytest.raises(ProxyUnavailable) as raised:
            await router.set_route(Route(DOMAIN, 20000))
        assert raised.value.status_code == 503
        assert raised.value.message == "The caddy proxy is unavailable"
        findings = await router.diagnose()
        assert [f.level.value for f in findings] == ["fail"]
        assert caddy.admin_url in findings[0].text
    finally:
        await router.close()


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("caddy_http_listen", "eighty", "HOSTMGR_CADDY_HTTP_LISTEN"),
        ("caddy_https_listen", "127.0.0.1:70000", "HOSTMGR_CADDY_HTTPS_LISTEN"),
        ("caddy_admin_url", "localhost:2019", "HOSTMGR_CADDY_ADMIN_URL"),
        ("tls", "sometimes", "HOSTMGR_TLS"),
        ("acme_email", "not-an-address", "HOSTMGR_ACME_EMAIL"),
        ("panel_domain", "under_score.example.com", "HOSTMGR_PANEL_DOMAIN"),
    ],
)
def test_bad_settings_name_their_key(tmp_path, key, value, named):
    settings = make_settings(tmp_path, "sqlite://unused", proxy="caddy", **{key: value})
    with pytest.raises(ConfigError) as raised:
        CaddySettings.from_settings(settings)
    assert str(raised.value).startswith(f"config {named}: ")


def test_settings_come_from_the_plugin_table_too(tmp_path):
    config = tmp_path / "hostmgr.toml"
    config.write_text(
        '[plugins.proxy_caddy]\nadmin_url = "http://127.0.0.1:2020"\ntls = "off"\n'
    )
    from hostmgr.config import load_settings

    settings = load_settings(
        config, {"HOSTMGR_DATA_DIR": str(tmp_path), "HOSTMGR_TLS": "auto"}
    )
    options = CaddySettings.from_settings(settings)
    assert options.admin_url == "http://127.0.0.1:2020"
    assert options.tls == "auto"  # the environment wins over the file
