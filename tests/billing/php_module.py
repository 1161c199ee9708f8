"""php-cli running the WHMCS module, the live hostmgr it drives, and what that did.

WHMCS itself cannot run here (it is licensed software with its own web server
and database), so ``whmcs_stub/bootstrap.php`` stands in for the three WHMCS
globals the module calls: ``logModuleCall``, ``localAPI`` and a minimal
``WHMCS\\Database\\Capsule`` that records updates. Nothing else is a stand-in:
php-cli runs the real module, which talks HTTP to a real ``hostmgr serve``
process running instances as real Docker containers of the stand-in n8n image.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import random
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hostmgr.services.instances import dns_label
from tests.test_serve import Server

ROOT = Path(__file__).parents[2]
MODULE_DIR = ROOT / "plugins/billing_whmcs/whmcs/modules/servers/hostmgr"
MODULE = MODULE_DIR / "hostmgr.php"
STUB_DIR = Path(__file__).parent / "whmcs_stub"
SERVER_ID = 7
SERVICE_PASSWORD = "Service-pass-4711"
CLIENT_PASSWORD = "Changed-pass-0815"


def php_binary() -> str:
    """php-cli with curl; its absence fails the test rather than skipping it."""
    php = shutil.which("php")
    if php is None:
        pytest.fail("php-cli is not installed: apt-get install php-cli php-curl")
    check = subprocess.run(
        [php, "-r", "exit(extension_loaded('curl') ? 0 : 1);"], capture_output=True
    )
    if check.returncode != 0:
        pytest.fail("php has no curl extension: apt-get install php-curl")
    return php


@dataclasses.dataclass
class PhpCall:
    """What one module function returned, and what it handed the WHMCS globals."""

    result: Any
    log: list[dict[str, Any]]
    localapi: list[dict[str, Any]]
    db: list[dict[str, Any]]

    def saved_service(self) -> dict[str, Any]:
        (update,) = [c for c in self.localapi if c["command"] == "UpdateClientProduct"]
        values: dict[str, Any] = update["values"]
        return values


def run_php(script: Path, target: Path, request: dict[str, Any], timeout: float) -> Any:
    completed = subprocess.run(
        [php_binary(), str(script), str(target)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout)


def call_module(
    function: str,
    *args: Any,
    secrets: tuple[str, ...] = (),
    localapi_answer: dict[str, Any] | None = None,
    timeout: float = 120,
) -> PhpCall:
    """Call ``function`` of the module in php-cli, as WHMCS would.

    Fails on any PHP warning, notice or deprecation, on stray output, on an
    exception that escapes, and on any of ``secrets`` in the module log.
    """
    request = {
        "function": function,
        "args": list(args),
        "localapi_answer": localapi_answer,
    }
    report = run_php(STUB_DIR / "run.php", MODULE, request, timeout)
    assert report["exception"] is None, report["exception"]
    assert report["warnings"] == [], report["warnings"]
    assert report["output"] == ""

    # replace_vars holds the secrets on purpose: WHMCS masks them with it.
    logged = json.dumps(
        [[e["request"], e["response"], e["processed"]] for e in report["log"]]
    )
    for secret in secrets:
        assert secret not in logged, f"a secret reached the module log in {function}"
    return PhpCall(report["result"], report["log"], report["localapi"], report["db"])


def render_template(vars: dict[str, Any]) -> str:
    report = run_php(
        STUB_DIR / "render.php",
        MODULE_DIR / "templates/clientarea.tpl",
        {"vars": vars},
        timeout=60,
    )
    assert report["warnings"] == [], report["warnings"]
    html: str = report["html"]
    return html


@dataclasses.dataclass
class Live:
    """A serving hostmgr with an admin token and two packages."""

    server: Server
    token: str
    ids: Iterator[int]
    names: list[str] = dataclasses.field(default_factory=list)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token, SERVICE_PASSWORD, CLIENT_PASSWORD)

    def php(self, function: str, *args: Any, **options: Any) -> PhpCall:
        return call_module(function, *args, secrets=self.secrets, **options)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.server.url}/api/integration{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )

    def server_params(self, **changes: Any) -> dict[str, Any]:
        params = {
            "serverid": SERVER_ID,
            "serverhostname": "127.0.0.1",
            "serverip": "127.0.0.1",
            "serverport": str(self.server.port),
            "serversecure": False,
            "serverusername": "",
            "serverpassword": self.token,
            "serveraccesshash": "",
        }
        return {**params, **changes}

    def new_service(self, email: str, account_type: str = "instance") -> dict[str, Any]:
        """WHMCS's parameters for a new, not yet provisioned service."""
        service_id = next(self.ids)
        self.names.append(f"n8n-{service_id}")
        return {
            **self.server_params(),
            "serviceid": service_id,
            "userid": 3,
            "pid": 1,
            "domain": "",
            "username": "",
            "password": SERVICE_PASSWORD,
            "producttype": "other",
            "moduletype": "hostmgr",
            "status": "Pending",
            "configoption1": "Starter",
            "configoption2": "1.0",
            "configoption3": account_type,
            "configoptions": {},
            "customfields": {},
            "clientsdetails": {
                "userid": 3,
                "firstname": "Jane",
                "lastname": "Doe",
                "fullname": "Jane Doe",
                "companyname": "",
                "email": email,
            },
        }

    def remove_containers(self) -> None:
        for name in self.names:
            container = f"hostmgr-{dns_label(name)}"
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)
            subprocess.run(
                ["docker", "volume", "rm", "-f", f"{container}-data"],
                capture_output=True,
            )


@contextlib.contextmanager
def serving_live(tmp_path: Path, standin_image: str) -> Iterator[Live]:
    """``hostmgr serve`` on SQLite and Docker; removes what its instances left."""
    server = Server(
        tmp_path,
        f"sqlite://{tmp_path / 'hostmgr.sqlite3'}",
        HOSTMGR_RUNTIME="docker",
        HOSTMGR_IMAGE=standin_image,
        HOSTMGR_BASE_DOMAIN="hosted.test",
        HOSTMGR_USAGE_INTERVAL="5",
        HOSTMGR_RATE_LIMIT="100000",
    )
    server.cli("init")
    token = server.admin_token()
    for name, cpu, ram, disk in (
        ("Starter", "0.5", "0.25", "1"),
        ("Pro", "1", "0.5", "2"),
    ):
        limits = ["--cpu", cpu, "--ram", ram, "--disk", disk]
        server.cli("package", "create", "--name", name, *limits)

    # Random service ids keep container names apart from earlier, aborted runs.
    ids = itertools.count(random.randrange(100_000, 900_000, 1000))
    live = Live(server, token, ids)
    try:
        with server.serving():
            yield live
    finally:
        live.remove_containers()


# --- what the live hostmgr did, seen from outside the module ---------------------


def container(name: str) -> dict[str, Any] | None:
    """``docker inspect`` of the instance's container, None when there is none."""
    result = subprocess.run(
        ["docker", "inspect", "--type", "container", f"hostmgr-{name}"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        assert "no such" in result.stderr.lower(), result.stderr
        return None
    info: dict[str, Any] = json.loads(result.stdout)[0]
    return info


def is_running(name: str) -> bool:
    info = container(name)
    return info is not None and bool(info["State"]["Running"])


def volume_mountpoint(name: str) -> str | None:
    result = subprocess.run(
        ["docker", "volume", "inspect", f"hostmgr-{name}-data"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return None
    mountpoint: str = json.loads(result.stdout)[0]["Mountpoint"]
    return mountpoint


def password_hash(live: Live, email: str) -> str:
    path = live.server.env["HOSTMGR_DATABASE_URL"].removeprefix("sqlite://")
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute(
            "SELECT password_hash FROM users WHERE email = ?", (email,)
        ).fetchone()
    assert row is not None, email
    return str(row[0])


def assert_sso_link_works_once(live: Live, url: str, name: str) -> None:
    assert url.startswith(f"{live.server.url}/sso/login/"), url
    first = httpx.get(url)
    assert first.status_code in (302, 303)
    session = first.cookies.get("hostmgr_session")
    assert session
    home = httpx.get(f"{live.server.url}/", cookies={"hostmgr_session": session})
    assert home.status_code == 200
    assert name in home.text
    assert httpx.get(url).status_code == 403


def push_traffic(name: str, megabytes: int) -> None:
    """Serve a file of ``megabytes`` MiB out of the instance's data volume."""
    mountpoint = volume_mountpoint(name)
    assert mountpoint is not None
    Path(mountpoint, "traffic.bin").write_bytes(b"\0" * megabytes * 1024 * 1024)
    info = container(name)
    assert info is not None
    port = info["NetworkSettings"]["Ports"]["5678/tcp"][0]["HostPort"]
    response = httpx.get(f"http://127.0.0.1:{port}/data/traffic.bin", timeout=30)
    assert response.status_code == 200
    assert len(response.content) == megabytes * 1024 * 1024


def wait_for_bandwidth(live: Live, name: str, megabytes: float) -> None:
    """Until hostmgr's usage meter has counted ``megabytes`` of traffic."""
    deadline = time.monotonic() + 60
    while True:
        usage = live.api("GET", f"/instances/{name}/usage").json()
        if usage["bandwidth_mb"] >= megabytes:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"hostmgr counted {usage['bandwidth_mb']} MB in 60 s")
        time.sleep(1)
