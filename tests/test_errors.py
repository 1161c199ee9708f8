"""No stack trace reaches a client: unexpected failures answer one JSON shape."""

from __future__ import annotations

import logging

from sanic import Sanic

from hostmgr.app import create_app
from hostmgr.hookspecs import hookimpl
from hostmgr.plugins import create_plugin_manager
from tests.conftest import started


class BrokenRoutePlugin:
    @hookimpl
    def hostmgr_register_routes(self, app: Sanic) -> None:
        @app.get("/boom")
        async def boom(request):
            raise RuntimeError("secret internal detail")


async def test_unhandled_error_is_500_json_without_detail(settings, caplog):
    pm = create_plugin_manager(extra=[BrokenRoutePlugin()])
    app = create_app(settings, pm, manage_db=False, name="broken")
    with caplog.at_level(logging.ERROR):
        async with started(app) as client:
            _, response = await client.get("/boom")
    assert response.status == 500
    assert response.json == {"status": "error", "message": "Internal server error"}
    assert "Traceback" not in response.text
    assert "secret internal detail" in caplog.text  # logged for the operator


async def test_security_headers(client, db):
    _, response = await client.get("/api/integration/connection/test")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
