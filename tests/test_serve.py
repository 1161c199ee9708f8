"""``hostmgr serve`` as a real server process, on a real port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from hostmgr.api import schemas
from tests.shapes import assert_shape

REDIS_URL = os.environ.get("HOSTMGR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, tmp_path, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "HOSTMGR_DATA_DIR": str(tmp_path / "data"),
            "HOSTMGR_DATABASE_URL": database_url,
            "HOSTMGR_PORT": str(self.port),
            **env,
        }
        self.env.pop("HOSTMGR_CONFIG", None)
        self.url = f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "hostmgr", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def admin_token(self) -> str:
        """Create an admin with the CLI and return a fresh token of theirs."""
        self.cli(
            "user",
            "create",
            "--role",
            "admin",
            "--email",
            "admin@example.com",
            "--name",
            "Admin User",
        )
        return self.cli("token", "create", "--email", "admin@example.com").strip()

    @contextlib.contextmanager
    def serving(self, *args: str) -> Iterator[subprocess.Popen[str]]:
        process = subprocess.Popen(
            [sys.executable, "-m", "hostmgr", "serve", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            self._wait_ready(process)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def _wait_ready(self, process: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"serve exited: {process.stdout.read()}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        pytest.fail("serve did not answer within 30 s")


@pytest.fixture
def server(tmp_path, empty_database_url) -> Server:
    server = Server(tmp_path, empty_database_url)
    server.cli("init")
    return server


def test_first_run_admin_token_and_connection_test(server):
    token = server.admin_token()
    with server.serving():
        response = httpx.get(
            server.url + "/api/integration/connection/test",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        assert_shape(response.json(), schemas.ConnectionTest)
        assert response.json()["user"]["email"] == "admin@example.com"

        over = httpx.post(
            server.url + "/api/integration/users",
            content=b"x" * (1024 * 1024 + 10),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert over.status_code == 413
        assert over.json()["status"] == "error"

        docs = httpx.get(server.url + "/docs/openapi.json")
        assert docs.status_code == 200


def test_several_workers_need_shared_rate_limit_storage(server):
    result = subprocess.run(
        [sys.executable, "-m", "hostmgr", "serve", "--workers", "2"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "rate_limit_storage" in result.stderr


def test_rate_limit_holds_across_workers(tmp_path, empty_database_url):
    server = Server(
        tmp_path,
        empty_database_url,
        HOSTMGR_RATE_LIMIT="6",
        HOSTMGR_RATE_LIMIT_STORAGE=REDIS_URL,
    )
    server.cli("init")
    token = server.admin_token()
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    with server.serving("--workers", "2"):
        statuses = []
        for _ in range(10):
            # A new connection each time, so the kernel spreads them over workers.
            response = httpx.get(
                server.url + "/api/integration/connection/test", headers=headers
            )
            statuses.append(response.status_code)
        assert statuses.count(200) == 6, statuses
        assert statuses.count(429) == 4, statuses
        assert int(response.headers["retry-after"]) >= 1
