"""The WHMCS module, run by php-cli against a live ``hostmgr serve`` on Docker.

WHMCS itself cannot run here, so three WHMCS globals are stand-ins (see
``php_module.py`` and ``whmcs_stub/bootstrap.php``): ``logModuleCall``,
``localAPI`` and a minimal ``Capsule`` that records updates. Everything else is
real: the module's functions run in php-cli and talk HTTP to a real hostmgr
process, whose instances are real containers of the stand-in n8n image. The
client-area template is rendered with real Smarty 3.1.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostmgr import cgroups
from hostmgr.security import verify_password
from tests.billing.other_servers import (
    port_that_never_connects,
    self_signed_context,
    web_server,
)
from tests.billing.php_module import (
    CLIENT_PASSWORD,
    MODULE_DIR,
    SERVER_ID,
    SERVICE_PASSWORD,
    STUB_DIR,
    Live,
    assert_sso_link_works_once,
    call_module,
    container,
    is_running,
    password_hash,
    php_binary,
    push_traffic,
    render_template,
    serving_live,
    volume_mountpoint,
    wait_for_bandwidth,
)
from tests.standin import IMAGE
from tests.test_serve import free_port

GiB = 1024**3
BUTTONS = {"Start": "start", "Stop": "stop", "Restart": "restart"}


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, standin_image: str
) -> Iterator[Live]:
    with serving_live(tmp_path_factory.mktemp("whmcs"), standin_image) as server:
        yield server


# --- the lifecycle of an instance product ------------------------------------------


def test_instance_product_through_its_whole_lifecycle(live: Live) -> None:
    service = live.new_service("jane.doe@example.com")
    service_id = service["serviceid"]
    name = f"n8n-{service_id}"
    domain = f"{name}.hosted.test"

    connection = live.php("hostmgr_TestConnection", live.server_params())
    assert connection.result == {"success": True, "error": ""}
    loader = live.php("hostmgr_PackageLoader", live.server_params())
    assert loader.result == {"Starter": "Starter", "Pro": "Pro"}

    created = live.php("hostmgr_CreateAccount", service, timeout=360)
    assert created.result == "success"
    assert created.saved_service() == {
        "serviceid": service_id,
        "serviceusername": name,
        "domain": domain,
    }
    info = container(name)
    assert info is not None and info["State"]["Running"]
    assert info["Config"]["Image"] == f"{IMAGE}:1.0"
    owner = live.api("GET", "/users/jane.doe@example.com").json()["user"]
    assert (owner["name"], owner["role"]) == ("Jane Doe", "user")
    assert verify_password(password_hash(live, owner["email"]), SERVICE_PASSWORD)
    instance = live.api("GET", f"/instances/{name}").json()["instance"]
    assert instance["user_id"] == owner["id"]
    assert (instance["package"], instance["version"]) == ("Starter", "1.0")

    # A retry after an answer WHMCS never saw (nothing saved on the service yet),
    # and one after it saw it: both find the instance instead of making another.
    saved = {**service, "username": name, "domain": domain}
    for retry in (service, saved):
        assert live.php("hostmgr_CreateAccount", retry).result == "success"
    listed = live.api("GET", "/instances").json()["instances"]
    assert [i["name"] for i in listed].count(name) == 1
    service = saved

    # The client's second service, named like the first one's instance, gets no
    # share of it.
    second = {**live.new_service("jane.doe@example.com"), "username": name}
    shared = live.php("hostmgr_CreateAccount", second)
    assert f'The instance "{name}" already belongs to this client' in shared.result
    assert shared.localapi == []

    area = live.php("hostmgr_ClientArea", service).result
    assert area["templatefile"] == "templates/clientarea"
    shown = area["vars"]
    assert shown["error"] == ""
    assert shown["status"] == "running"
    assert shown["instance_url"] == f"https://{domain}"
    assert (shown["memory_limit"], shown["disk_limit"]) == ("256MiB", "1.0 GB")
    assert shown["memory_usage"].endswith(("KiB", "MiB"))
    assert shown["sso_url"] == (
        f"clientarea.php?action=productdetails&id={service_id}&dosinglesignon=1"
    )
    html = render_template({**shown, "token": "csrf-token"})
    assert f'<a href="https://{domain}"' in html
    assert ">running</span>" in html
    assert 'name="a" value="stop"' in html

    tab = live.php("hostmgr_AdminServicesTabFields", service).result
    assert (tab["Instance"], tab["Status"], tab["Domain"]) == (name, "running", domain)
    assert (tab["Package"], tab["n8n Version"]) == ("Starter", "1.0")
    assert tab["Disk"].endswith(" of 1.0 GB")
    buttons = live.php("hostmgr_ClientAreaCustomButtonArray", service).result
    assert buttons == BUTTONS
    assert live.php("hostmgr_AdminCustomButtonArray", service).result == BUTTONS

    assert live.php("hostmgr_stop", service).result == "success"
    assert not is_running(name)
    area = live.php("hostmgr_ClientArea", service).result
    assert area["vars"]["status"] == "stopped"
    assert live.php("hostmgr_start", service).result == "success"
    assert is_running(name)
    started_at = container(name)["State"]["StartedAt"]  # type: ignore[index]
    assert live.php("hostmgr_restart", service).result == "success"
    assert is_running(name)
    assert container(name)["State"]["StartedAt"] != started_at  # type: ignore[index]

    # Another client's service that names this instance cannot touch it.
    stranger = live.new_service("stranger@example.com")
    body = {"name": "Stranger", "email": "stranger@example.com", "password": "x" * 12}
    assert live.api("POST", "/users", json=body).status_code == 201
    for action in ("hostmgr_SuspendAccount", "hostmgr_TerminateAccount"):
        refused = live.php(action, {**stranger, "username": name}).result
        assert "belongs to another account" in refused, refused
    assert is_running(name)
    peek = live.php("hostmgr_ClientArea", {**stranger, "username": name})
    assert peek.result["vars"]["error"]
    assert domain not in json.dumps(peek.result)

    reason = "Overdue invoice #1042"
    suspended = live.php("hostmgr_SuspendAccount", {**service, "suspendreason": reason})
    assert suspended.result == "success"
    assert not is_running(name)
    assert live.api("GET", f"/instances/{name}").json()["instance"]["suspended"]
    blocked = live.php("hostmgr_start", service).result
    assert blocked.startswith("hostmgr refused the request (403)"), blocked
    assert reason in blocked
    assert not is_running(name)
    assert live.php("hostmgr_UnsuspendAccount", service).result == "success"
    assert is_running(name)
    assert not live.api("GET", f"/instances/{name}").json()["instance"]["suspended"]

    service["configoption1"] = "Pro"
    assert live.php("hostmgr_ChangePackage", service).result == "success"
    info = container(name)
    assert info is not None and info["HostConfig"]["Memory"] == GiB // 2
    in_cgroup = cgroups.read_usage_sync(info["State"]["Pid"]).memory_limit
    assert in_cgroup == GiB // 2
    assert live.api("GET", f"/instances/{name}").json()["instance"]["package"] == "Pro"

    service["password"] = CLIENT_PASSWORD
    assert live.php("hostmgr_ChangePassword", service).result == "success"
    assert verify_password(password_hash(live, owner["email"]), CLIENT_PASSWORD)

    sso = live.php("hostmgr_ServiceSingleSignOn", service)
    assert sso.result["success"] is True
    link = sso.result["redirectTo"]
    assert link.split("?")[1] not in json.dumps(sso.log), "an SSO link was logged"
    assert_sso_link_works_once(live, link, "Jane Doe")
    admin_sso = live.php("hostmgr_AdminSingleSignOn", live.server_params())
    assert admin_sso.result["success"] is True
    assert_sso_link_works_once(live, admin_sso.result["redirectTo"], "Admin User")

    push_traffic(name, 3)
    wait_for_bandwidth(live, name, 3)
    usage = live.php("hostmgr_UsageUpdate", live.server_params())
    assert usage.result == "success"
    rows = [row for row in usage.db if row["where"]["domain"] == domain]
    assert len(rows) == 1
    assert rows[0]["table"] == "tblhosting"
    assert rows[0]["where"] == {"server": SERVER_ID, "domain": domain}
    report = live.api("GET", "/usage").json()["instances"]
    (reported,) = [r for r in report if r["domain"] == domain]
    stored = rows[0]["values"]
    assert stored["disklimit"] == 2048  # the Pro package's 2 GB
    assert stored["bwlimit"] == 0  # unlimited, in WHMCS as in hostmgr
    assert stored["bwusage"] >= 3
    assert stored["diskusage"] == round(reported["disk_usage_mb"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", stored["lastupdate"])

    assert live.php("hostmgr_TerminateAccount", service).result == "success"
    assert container(name) is None
    assert volume_mountpoint(name) is None
    assert live.api("GET", f"/instances/{name}").status_code == 404
    assert live.php("hostmgr_TerminateAccount", service).result == "success"


# --- a reseller product ------------------------------------------------------------


def test_reseller_product_create_suspend_terminate(live: Live) -> None:
    service = live.new_service("acme.ops@example.com", account_type="reseller")
    service_id = service["serviceid"]
    username = f"reseller-{service_id}"

    # WHMCS failing to save the name gets a message saying what to set by hand.
    lost = live.php(
        "hostmgr_CreateAccount",
        service,
        localapi_answer={"result": "error", "message": "Service ID Not Found"},
    )
    assert "Service ID Not Found" in lost.result
    assert f'set the service\'s username to "{username}"' in lost.result
    created = live.php("hostmgr_CreateAccount", service)
    assert created.result == "success"
    assert created.saved_service() == {
        "serviceid": service_id,
        "serviceusername": username,
    }
    service["username"] = username
    reseller = live.api("GET", f"/resellers/{username}").json()["reseller"]
    assert (reseller["email"], reseller["name"]) == ("acme.ops@example.com", "Jane Doe")
    assert live.php("hostmgr_ClientAreaCustomButtonArray", service).result == []

    area = live.php("hostmgr_ClientArea", service).result["vars"]
    assert (area["account_type"], area["status"]) == ("reseller", "active")
    assert "Reseller account" in render_template({**area, "token": "t"})

    assert live.php("hostmgr_SuspendAccount", service).result == "success"
    assert live.api("GET", f"/resellers/{username}").json()["reseller"]["suspended"]
    tab = live.php("hostmgr_AdminServicesTabFields", service).result
    assert (tab["Reseller"], tab["Status"]) == (username, "suspended")
    assert live.php("hostmgr_UnsuspendAccount", service).result == "success"
    assert not live.api("GET", f"/resellers/{username}").json()["reseller"]["suspended"]

    service["password"] = CLIENT_PASSWORD
    assert live.php("hostmgr_ChangePassword", service).result == "success"
    assert verify_password(password_hash(live, "acme.ops@example.com"), CLIENT_PASSWORD)
    sso = live.php("hostmgr_ServiceSingleSignOn", service).result
    assert_sso_link_works_once(live, sso["redirectTo"], "Jane Doe")

    assert live.php("hostmgr_TerminateAccount", service).result == "success"
    assert live.api("GET", f"/resellers/{username}").status_code == 404
    assert live.php("hostmgr_TerminateAccount", service).result == "success"


# --- refusals a WHMCS admin must be able to act on ---------------------------------


def test_a_wrong_token_is_named(live: Live) -> None:
    wrong = "hm_not-the-servers-token"
    params = live.server_params(serverpassword=wrong)
    tested = call_module("hostmgr_TestConnection", params, secrets=(wrong,))
    assert tested.result["success"] is False
    error = tested.result["error"]
    assert error.startswith("hostmgr refused the API token (401"), error
    assert "check the server's API token" in error
    service = {**live.new_service("wrong.token@example.com"), "serverpassword": wrong}
    created = call_module("hostmgr_CreateAccount", service, secrets=(wrong,))
    assert created.result.startswith("hostmgr refused the API token (401")

    # The token also works from the Access Hash field.
    params = live.server_params(serverpassword="", serveraccesshash=f"\n{live.token}\n")
    assert live.php("hostmgr_TestConnection", params).result["success"] is True


def test_an_unreachable_server_is_named_within_the_timeout() -> None:
    closed = free_port()
    params = {"serverhostname": "127.0.0.1", "serverport": str(closed)}
    refused = call_module("hostmgr_TestConnection", {**params, "serverpassword": "t"})
    assert refused.result["error"].startswith(
        f"hostmgr could not be reached at http://127.0.0.1:{closed} "
        "(connection refused)"
    )

    with port_that_never_connects() as port:
        params = {"serverhostname": "127.0.0.1", "serverport": str(port)}
        # The subprocess timeout bounds the call: past it, the test fails.
        hung = call_module(
            "hostmgr_TestConnection", {**params, "serverpassword": "t"}, timeout=30
        )
    assert hung.result["error"].startswith(
        f"hostmgr could not be reached at http://127.0.0.1:{port} (timeout after 5 s)"
    )


def test_tls_is_verified_and_its_failures_are_named(live: Live, tmp_path: Path) -> None:
    plain = live.server_params(serversecure="on")
    handshake = live.php("hostmgr_TestConnection", plain).result["error"]
    assert handshake.startswith(
        f"The TLS handshake with https://127.0.0.1:{live.server.port}"
    )
    assert 'untick "Secure"' in handshake

    # A server that would answer like hostmgr, behind a certificate nobody signed.
    answer = json.dumps({"status": "success", "message": "Connection successful"})
    context = self_signed_context(tmp_path)
    with web_server(answer.encode(), "application/json", context) as port:
        params = {
            "serverhostname": "127.0.0.1",
            "serverport": str(port),
            "serversecure": True,
            "serverpassword": "t",
        }
        refused = call_module("hostmgr_TestConnection", params).result
    assert refused["success"] is False
    assert refused["error"].startswith(
        f"hostmgr at https://127.0.0.1:{port} has a TLS certificate "
        "this WHMCS cannot verify"
    ), refused["error"]


def test_a_server_that_is_not_hostmgr_is_named() -> None:
    with web_server(b"<html>It works!</html>", "text/html") as port:
        params = {"serverip": "127.0.0.1", "serverport": str(port)}
        answer = call_module(
            "hostmgr_TestConnection", {**params, "serverpassword": "t"}
        )
    assert answer.result["error"].startswith(
        f"The server at http://127.0.0.1:{port} answered 200 with something other "
        "than hostmgr's JSON"
    )


def test_missing_server_settings_are_named() -> None:
    cases = [
        ({"serverhostname": "127.0.0.1"}, "The server has no hostmgr API token"),
        ({"serverpassword": "t"}, "The server has no hostname or IP address"),
        (
            {"serverhostname": "h.test", "serverport": "84a8", "serverpassword": "t"},
            'The server\'s port "84a8" is not a port number',
        ),
        (
            {"serverhostname": "h.test/x y", "serverpassword": "t"},
            'The server\'s hostname "h.test/x y" is not a host name',
        ),
    ]
    for params, message in cases:
        error = call_module("hostmgr_TestConnection", params).result["error"]
        assert error.startswith(message), error


def test_product_and_service_mistakes_are_named(live: Live) -> None:
    service = live.new_service("mistakes@example.com")
    short = live.php("hostmgr_CreateAccount", {**service, "password": "short"}).result
    assert short.startswith("hostmgr refused the data (422)"), short
    assert "(password: " in short
    assert "the panel password is the service's password" in short
    assert live.api("GET", "/users/mistakes@example.com").status_code == 404

    unknown = live.php("hostmgr_CreateAccount", {**service, "configoption1": "Gold"})
    assert unknown.result == (
        "hostmgr: Package 'Gold' not found (404): pick one of hostmgr's packages "
        "in the product's Module Settings"
    )
    assert container(f"n8n-{service['serviceid']}") is None

    bad_type = live.php("hostmgr_CreateAccount", {**service, "configoption3": "vps"})
    assert bad_type.result.startswith('The product\'s account type "vps"')


def test_a_client_with_an_admins_email_gets_nothing(live: Live) -> None:
    service = live.new_service("admin@example.com")
    created = live.php("hostmgr_CreateAccount", service).result
    assert "belongs to a hostmgr admin" in created, created
    assert container(f"n8n-{service['serviceid']}") is None
    sso = live.php("hostmgr_ServiceSingleSignOn", service).result
    assert sso["success"] is False
    assert "belongs to a hostmgr admin" in sso["errorMsg"]


def test_module_log_masks_the_token_and_passwords(live: Live) -> None:
    service = live.new_service("log.check@example.com", account_type="reseller")
    created = live.php("hostmgr_CreateAccount", service)
    assert created.result == "success"
    (entry,) = [e for e in created.log if e["request"].startswith("POST ")]
    assert entry["module"] == "hostmgr"
    assert entry["action"] == "CreateAccount"
    assert entry["request"].startswith(
        f"POST {live.server.url}/api/integration/resellers"
    )
    assert '"password": "********"' in entry["request"]
    assert entry["response"].startswith("HTTP 201")
    assert live.token in entry["replace_vars"]
    assert SERVICE_PASSWORD in entry["replace_vars"]

    service["username"] = f"reseller-{service['serviceid']}"
    sso = live.php("hostmgr_ServiceSingleSignOn", service)
    (logged,) = [e for e in sso.log if e["request"].startswith("POST ")]
    assert logged["processed"]["redirect_url"].endswith("?********")
    assert live.php("hostmgr_TerminateAccount", service).result == "success"


# --- the module's files ------------------------------------------------------------


def test_module_runs_on_php_7_4() -> None:
    php = php_binary()
    files = sorted(MODULE_DIR.rglob("*.php"))
    assert len(files) >= 5
    for path in files:
        lint = subprocess.run([php, "-l", str(path)], capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    newer = subprocess.run(
        [php, str(STUB_DIR / "check_php74.php"), *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert newer.returncode == 0, newer.stdout + newer.stderr


def test_metadata_and_product_settings() -> None:
    meta = call_module("hostmgr_MetaData").result
    assert meta["APIVersion"] == "1.1"
    assert meta["RequiresServer"] is True
    assert (meta["DefaultNonSSLPort"], meta["DefaultSSLPort"]) == ("8448", "8448")
    assert meta["ServiceSingleSignOnLabel"] and meta["AdminSingleSignOnLabel"]

    options = call_module("hostmgr_ConfigOptions").result
    assert list(options) == ["Package", "n8n Version", "Account Type"]
    assert options["Package"]["Loader"] == "hostmgr_PackageLoader"
    assert options["n8n Version"]["Default"] == "latest"
    assert options["Account Type"]["Options"] == "instance,reseller"


def test_client_area_template_escapes_what_it_shows() -> None:
    hostile = '<script>alert("x")</script>'
    shown = {
        "serviceid": '1"><script>',
        "account_type": "instance",
        "error": "",
        "status": hostile,
        "is_running": True,
        "is_suspended": False,
        "domain": hostile,
        "instance_url": 'https://x.test/"onmouseover="alert(1)',
        "cpu_percent": hostile,
        "memory_usage": hostile,
        "memory_limit": hostile,
        "memory_percent": hostile,
        "disk_usage": hostile,
        "disk_limit": hostile,
        "bandwidth_usage": hostile,
        "bandwidth_limit": hostile,
        "period": hostile,
        "sso_url": 'clientarea.php?x="><script>',
        "token": '"><script>',
    }
    html = render_template(shown)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '"onmouseover=' not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 10

    error = render_template({**shown, "error": hostile})
    assert "<script>" not in error
    assert "&lt;script&gt;" in error
