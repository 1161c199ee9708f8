"""An in-process client that starts the app once, then sends many requests.

sanic-testing's ASGI client runs the whole start-up and shut-down around every
request; this one runs them once per test, like a real server, and answers in the
same ``(request, response)`` form.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
from sanic import Sanic


class AppClient:
    def __init__(self, app: Sanic) -> None:
        self.app = app
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://testserver",
        )

    async def start(self) -> None:
        self.app.asgi = True
        await self.app._startup()
        await self.app._server_event("init", "before")
        await self.app._server_event("init", "after")

    async def stop(self) -> None:
        await self.http.aclose()
        await self.app._server_event("shutdown", "before")
        await self.app._server_event("shutdown", "after")

    async def request(self, method: str, url: str, **kwargs: Any) -> tuple[Any, Any]:
        response = await self.http.request(method, url, **kwargs)
        response.status = response.status_code  # type: ignore[attr-defined]
        response.json = _json_or_none(response)  # type: ignore[method-assign]
        return SimpleNamespace(url=url), response

    async def get(self, url: str, **kwargs: Any) -> tuple[Any, Any]:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> tuple[Any, Any]:
        return await self.request("POST", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> tuple[Any, Any]:
        return await self.request("PATCH", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> tuple[Any, Any]:
        return await self.request("PUT", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> tuple[Any, Any]:
        return await self.request("DELETE", url, **kwargs)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
