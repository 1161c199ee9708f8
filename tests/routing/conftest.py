"""A real Caddy per test, with its admin API and listeners on free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Caddy:
    """``caddy run`` with nothing but an admin listener: an empty Caddy."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.admin_port = free_port()
        self.http_port = free_port()
        self.https_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> None:
        config = self.home / "bootstrap.json"
        config.write_text(
            json.dumps({"admin": {"listen": f"127.0.0.1:{self.admin_port}"}})
        )
        env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
        }
        log = (self.home / "caddy.log").open("ab")
        self.process = subprocess.Popen(
            ["caddy", "run", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=log,
        )
        for _ in range(200):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{self.admin_url}/config/", timeout=1)
                return
            time.sleep(0.05)
        raise AssertionError(f"caddy did not start; see {self.home / 'caddy.log'}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart_empty(self) -> None:
        """What a crash and restart look like: every route hostmgr gave is gone."""
        self.stop()
        self.start()

    def config(self, path: str = "") -> object:
        with urllib.request.urlopen(f"{self.admin_url}/config/{path}") as response:
            return json.loads(response.read())

    def settings(self, **extra: str) -> dict[str, str]:
        """``make_settings`` overrides that point hostmgr at this Caddy."""
        return {
            "proxy": "caddy",
            "caddy_admin_url": self.admin_url,
            "caddy_http_listen": f"127.0.0.1:{self.http_port}",
            "caddy_https_listen": f"127.0.0.1:{self.https_port}",
            "tls": "off",
            **extra,
        }


@pytest.fixture
def caddy(tmp_path: Path) -> Iterator[Caddy]:
    home = tmp_path / "caddy"
    home.mkdir()
    server = Caddy(home)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def through(
    http: httpx.AsyncClient, caddy: Caddy, domain: str, path: str = "/"
) -> httpx.Response:
    """A request to Caddy's HTTP listener for ``domain``."""
    return await http.get(
        f"http://127.0.0.1:{caddy.http_port}{path}", headers={"Host": domain}
    )


async def eventually(check, within: float = 30.0):  # type: ignore[no-untyped-def]
    """Retry ``check`` (a coroutine function) until it stops raising."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await check()
        except (AssertionError, httpx.TransportError):
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.2)
