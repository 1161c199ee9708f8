"""A real hostmgr server on a scratch data dir, for the benchmarks.

It uses the stand-in n8n image from the tests (``tests/standin.py``) so that it
runs without a registry, and the engine named on the command line.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import standin  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<34} n={len(ms):<4} p50={percentile(ms, 0.5):9.2f} ms  "
        f"p95={percentile(ms, 0.95):9.2f} ms  mean={statistics.fmean(ms):9.2f} ms"
    )


def podman_env(state: Path) -> dict[str, str]:
    from hostmgr_runtime_podman.service import write_containers_conf

    conf = write_containers_conf(state / "containers.conf")
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


class Server:
    """``hostmgr serve`` on a free port with its own SQLite data dir."""

    def __init__(self, engine: str, workdir: Path) -> None:
        self.engine = engine
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/integration"
        self.engine_env = (
            podman_env(workdir) if engine == "podman" else dict(os.environ)
        )
        self.env = {
            **self.engine_env,
            "HOSTMGR_DATA_DIR": str(workdir / "data"),
            "HOSTMGR_PORT": str(self.port),
            "HOSTMGR_RUNTIME": engine,
            "HOSTMGR_IMAGE": standin.IMAGE,
            "HOSTMGR_RATE_LIMIT": "1000000",
            "HOSTMGR_LOG_LEVEL": "warning",
        }
        standin.build(engine, workdir, self.engine_env)
        self.cli("init")
        self.cli(
            "user",
            "create",
            "--role",
            "admin",
            "--email",
            "bench@example.com",
            "--name",
            "Bench",
        )
        self.cli(
            "package",
            "create",
            "--name",
            "Bench",
            "--cpu",
            "0.5",
            "--ram",
            "0.25",
            "--disk",
            "1",
        )
        token = self.cli("token", "create", "--email", "bench@example.com").strip()
        self.headers = {"Authorization": f"Bearer {token}"}

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "hostmgr", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    @contextlib.contextmanager
    def running(self) -> Iterator[httpx.Client]:
        process = subprocess.Popen(
            [sys.executable, "-m", "hostmgr", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = httpx.Client(base_url=self.url, headers=self.headers, timeout=120)
        try:
            for _ in range(300):
                try:
                    client.get("/connection/test")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield client
        finally:
            client.close()
            process.terminate()
            process.wait(timeout=30)


class KeepAlive:
    """A plain keep-alive HTTP/1.1 connection: the least client time per call."""

    def __init__(self, server: Server) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port)
        self.headers = server.headers
        self.prefix = "/api/integration"

    def get(self, path: str) -> tuple[int, dict[str, object]]:
        self.connection.request("GET", self.prefix + path, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hostmgr-bench-") as directory:
        yield Path(directory)


def terminate_all(client: httpx.Client) -> None:
    for instance in client.get("/instances").json()["instances"]:
        client.post(f"/instances/{instance['name']}/terminate")
