"""The WHMCS events plugin: hostmgr events pushed to WHMCS's API through the outbox.

WHMCS cannot run here, so ``FakeWhmcs`` (tests/billing/fake_whmcs.py) stands in
for its API on a 127.0.0.1 port: it is the one allowed fake. Everything else is
real: the app, the outbox on SQLite and PostgreSQL, HTTP to the fake, and in the
first test the instances as containers on Docker and Podman.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostmgr_billing_whmcs import SINK, WhmcsSink, load_config, queue_overages
from hostmgr_billing_whmcs.overage import OverageBiller, previous_period

from hostmgr.config import Settings, load_settings
from hostmgr.errors import ConfigError
from hostmgr.events import Event, emit
from hostmgr.models import (
    DeliveryAttempt,
    Instance,
    InstanceUsage,
    OutboxMessage,
    Package,
)
from hostmgr.outbox import Deliverer
from tests.billing.fake_whmcs import FakeWhmcs
from tests.conftest import app_on_engine, make_settings, make_user, started
from tests.sinks import new_app, wait_for_failed_attempt, wait_until_delivered

API = "/api/integration"
IDENTIFIER = "whmcs-ident-4711"
SECRET = "whmcs-secret-" + "q" * 24
FAST = {
    "whmcs_poll_interval": "0.02",
    "whmcs_retry_min": "0.05",
    "whmcs_retry_max": "0.2",
}
GiB = 1024**3


@pytest.fixture
def whmcs() -> Iterator[FakeWhmcs]:
    fake = FakeWhmcs(IDENTIFIER, SECRET)
    yield fake
    fake.stop()


def whmcs_settings(tmp_path: Path, db: str, whmcs: FakeWhmcs, **extra: str) -> Settings:
    options = {
        "whmcs_url": whmcs.url,
        "whmcs_identifier": IDENTIFIER,
        "whmcs_secret": SECRET,
        **FAST,
        **extra,
    }
    return make_settings(tmp_path, db, **options)


def summary(writes: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
    return [
        (action, params.get("status") or params.get("description") or "")
        for action, params in writes
    ]


async def assert_no_secret_stored() -> None:
    for message in await OutboxMessage.all():
        assert SECRET not in str(message.payload) + str(message.last_error)
        assert IDENTIFIER not in str(message.payload)
    for attempt in await DeliveryAttempt.all():
        assert SECRET not in f"{attempt.action} {attempt.error}"


async def test_instance_actions_reach_whmcs_once_and_in_order_across_a_restart(
    tmp_path, db, engine, standin_image, podman_url, whmcs, admin, admin_headers, caplog
):
    caplog.set_level(logging.DEBUG)
    await Package.create(name="Starter", cpu_cores=0.5, ram_gb=0.25, disk_gb=5)
    await Package.create(name="Pro", cpu_cores=1, ram_gb=0.5, disk_gb=10)
    client_id = whmcs.add_client(admin.email)
    service_id = whmcs.add_service(client_id, "flow-one.hosted.test")
    settings = whmcs_settings(
        tmp_path,
        db,
        whmcs,
        runtime=engine,
        image=standin_image,
        podman_url=podman_url,
    )

    # WHMCS is down while the panel works.
    async with app_on_engine(settings) as panel:
        for path, body in (
            ("/instances/create", {"name": "flow-one", "package": "Starter"}),
            ("/instances/flow-one/stop", None),
            ("/instances/flow-one/start", None),
            ("/instances/flow-one/suspend", {"reason": "Unpaid invoice"}),
            ("/instances/flow-one/unsuspend", None),
            ("/instances/flow-one/upgrade", {"package": "Pro"}),
            ("/instances/flow-one/terminate", None),
        ):
            _, response = await panel.post(API + path, json=body, headers=admin_headers)
            assert response.status in (200, 201), (path, response.json)
        await wait_for_failed_attempt(SINK)
    assert not await OutboxMessage.exists(delivered_at__not_isnull=True)
    assert whmcs.calls == []

    # WHMCS is back, and a new panel process starts on the same database.
    whmcs.start()
    async with started(new_app(settings)):
        await wait_until_delivered(SINK)

    domain = "flow-one.hosted.test"
    assert summary(whmcs.writes) == [
        ("LogActivity", f"hostmgr: instance flow-one created ({domain})"),
        ("LogActivity", f"hostmgr: instance flow-one stopped ({domain})"),
        ("LogActivity", f"hostmgr: instance flow-one started ({domain})"),
        ("UpdateClientProduct", "Suspended"),
        (
            "LogActivity",
            f"hostmgr: instance flow-one suspended ({domain}): Unpaid invoice",
        ),
        ("UpdateClientProduct", "Active"),
        ("LogActivity", f"hostmgr: instance flow-one unsuspended ({domain})"),
        (
            "LogActivity",
            f"hostmgr: instance flow-one upgraded ({domain}) to package Pro",
        ),
        ("UpdateClientProduct", "Terminated"),
        ("LogActivity", f"hostmgr: instance flow-one terminated ({domain})"),
    ]
    for action, params in whmcs.writes:
        if action == "LogActivity":
            assert params["clientid"] == str(client_id)
        else:
            assert params["serviceid"] == str(service_id)
    assert whmcs.services[service_id]["status"] == "Terminated"
    # The start found the service Active already and wrote nothing.
    starts = await OutboxMessage.filter(event="instance.started").order_by("id")
    log = await DeliveryAttempt.filter(message_id=starts[0].id, ok=True)
    assert log[0].action == "GetClientsProducts, already Active"

    await assert_no_secret_stored()
    assert SECRET not in caplog.text and IDENTIFIER not in caplog.text


async def test_failed_answers_are_retried_until_whmcs_takes_the_call(
    tmp_path, db, whmcs
):
    client_id = whmcs.add_client("pat@example.com")
    whmcs.faults = [
        (503, "<html>maintenance</html>"),
        (500, {"result": "error", "message": "Database error"}),
        (200, {"result": "error", "message": "Something went wrong"}),
    ]
    whmcs.start()
    async with started(new_app(whmcs_settings(tmp_path, db, whmcs))) as panel:
        await emit(
            panel.app.ctx.pm,
            Event("user.created", "pat", {"user_id": 5, "email": "pat@example.com"}),
        )
        await wait_until_delivered(SINK)

    assert whmcs.activity == [(client_id, "hostmgr: user pat created")]
    attempts = await DeliveryAttempt.all().order_by("id")
    assert [(a.ok, a.http_status, a.error) for a in attempts] == [
        (False, 503, "GetClientsDetails: HTTP 503, not JSON"),
        (False, 500, "GetClientsDetails: Database error"),
        (False, 200, "GetClientsDetails: Something went wrong"),
        (True, 200, None),
    ]
    assert attempts[-1].action == "GetClientsDetails, LogActivity"
    message = await OutboxMessage.get(sink="whmcs")
    assert message.attempts == 4 and message.delivered_at is not None


async def test_wrong_credentials_hold_messages_until_they_are_put_right(
    tmp_path, db, whmcs
):
    whmcs.start()
    settings = whmcs_settings(tmp_path, db, whmcs, whmcs_secret="not-the-secret-at-all")
    async with started(new_app(settings)) as panel:
        await emit(panel.app.ctx.pm, Event("reseller.suspended", "acme", {}))
        await wait_for_failed_attempt(SINK)
    failed = await DeliveryAttempt.filter(sink="whmcs").first()
    assert failed is not None
    assert (failed.http_status, failed.error) == (
        403,
        "LogActivity: Authentication Failed",
    )
    assert whmcs.activity == []

    async with started(new_app(whmcs_settings(tmp_path, db, whmcs))):
        await wait_until_delivered(SINK)
    assert whmcs.activity == [(None, "hostmgr: reseller acme suspended")]


async def test_account_events_from_the_api_go_to_the_clients_activity_log(
    tmp_path, db, whmcs, admin_headers
):
    client_id = whmcs.add_client("jane@example.com")
    whmcs.start()
    async with started(new_app(whmcs_settings(tmp_path, db, whmcs))) as panel:
        for email in ("jane@example.com", "nobody@example.com"):
            body = {"name": "J", "email": email, "password": "s3cret-pass-99"}
            _, response = await panel.post(
                f"{API}/users", json=body, headers=admin_headers
            )
            assert response.status == 201
        await wait_until_delivered(SINK)

    assert whmcs.activity == [
        (client_id, "hostmgr: user jane created"),
        # Not a WHMCS client: to the system activity log, naming the email.
        (None, "hostmgr: user nobody created [nobody@example.com]"),
    ]


async def test_a_service_whmcs_lacks_fails_for_good_and_the_rest_goes_on(
    tmp_path, db, whmcs
):
    client_id = whmcs.add_client("pat@example.com")
    whmcs.start()
    data = {"domain": "gone.hosted.test", "email": "pat@example.com", "user_id": 1}
    async with started(new_app(whmcs_settings(tmp_path, db, whmcs))) as panel:
        await emit(panel.app.ctx.pm, Event("instance.suspended", "gone", data))
        await wait_until_delivered(SINK)

    refused, logged = await OutboxMessage.filter(sink="whmcs").order_by("id")
    assert refused.payload["action"] == "UpdateClientProduct"
    assert refused.failed_at is not None and refused.delivered_at is None
    assert refused.last_error == "no WHMCS service for instance gone (gone.hosted.test)"
    assert refused.attempts == 1
    assert logged.delivered_at is not None
    assert whmcs.activity == [
        (client_id, "hostmgr: instance gone suspended (gone.hosted.test)")
    ]
    assert [a for a, _ in whmcs.writes] == ["LogActivity"]


async def test_services_are_found_by_module_name_name_or_username(tmp_path, db, whmcs):
    client_id = whmcs.add_client("pat@example.com")
    by_id = whmcs.add_service(client_id, "", username="someone")
    by_name = whmcs.add_service(client_id, "shop")
    by_username = whmcs.add_service(client_id, "", username="blog")
    renamed = whmcs.add_service(client_id, "old.hosted.test")
    whmcs.start()
    owner = {"email": "pat@example.com", "user_id": 1}
    async with started(new_app(whmcs_settings(tmp_path, db, whmcs))) as panel:
        for name in (f"n8n-{by_id}", "shop", "blog"):
            data = {**owner, "domain": f"{name}.hosted.test"}
            await emit(panel.app.ctx.pm, Event("instance.suspended", name, data))
        moved = {**owner, "domain": "new.hosted.test", "old_domain": "old.hosted.test"}
        await emit(panel.app.ctx.pm, Event("instance.domain_changed", "new", moved))
        await wait_until_delivered(SINK)

    statuses = [whmcs.services[s]["status"] for s in (by_id, by_name, by_username)]
    assert statuses == ["Suspended"] * 3
    assert whmcs.services[renamed]["domain"] == "new.hosted.test"
    assert whmcs.activity[-1] == (
        client_id,
        "hostmgr: instance new domain changed (new.hosted.test), was old.hosted.test",
    )
    assert not await OutboxMessage.exists(failed_at__not_isnull=True)


async def test_overage_is_billed_once_per_instance_and_month(tmp_path, db, whmcs):
    client_id = whmcs.add_client("heavy@example.com")
    whmcs.start()
    settings = whmcs_settings(
        tmp_path,
        db,
        whmcs,
        whmcs_overage_price_per_gb="0.5",
        whmcs_overage_included_gb="10",
    )
    config = load_config(settings)
    assert config is not None and config.overage is not None
    period = previous_period()
    package = await Package.create(name="Starter", cpu_cores=1, ram_gb=1, disk_gb=5)
    heavy = await make_user(email="heavy@example.com")
    light = await make_user(email="light@example.com")
    for name, owner, traffic in (("big", heavy, 12 * GiB), ("small", light, GiB)):
        instance = await Instance.create(
            name=name,
            domain=f"{name}.hosted.test",
            user=owner,
            package=package,
            encryption_key="sealed",
        )
        await InstanceUsage.create(
            instance=instance, period=period, rx_bytes=traffic // 4, tx_bytes=traffic
        )

    biller = OverageBiller(config.overage)
    await biller.round()
    await biller.round()
    assert await OutboxMessage.filter(event="instance.overage").count() == 1
    # Another worker checking the same month queues nothing more.
    assert await queue_overages(config.overage, period) == 0
    deliverer = Deliverer(WhmcsSink(config), config.delivery)
    await deliverer.round()
    await deliverer.stop()

    (item,) = whmcs.billable
    assert item["clientid"] == str(client_id)
    assert item["amount"] == "2.50"  # 15 GB used, 10 included, 0.5 per GB
    assert (item["unit"], item["quantity"]) == ("quantity", "5")
    assert item["description"] == f"n8n traffic over 10 GB for big, {period}"
    assert item["invoiceaction"] == "nextinvoice"


async def test_without_a_url_the_plugin_is_idle_and_says_so_once(tmp_path, db, caplog):
    caplog.set_level(logging.INFO, logger="hostmgr_billing_whmcs")
    async with started(new_app(make_settings(tmp_path, db))) as panel:
        await emit(panel.app.ctx.pm, Event("user.created", "pat", {"user_id": 1}))
    assert not await OutboxMessage.exists(sink="whmcs")
    lines = [r for r in caplog.records if r.name == "hostmgr_billing_whmcs"]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        ("INFO", "billing_whmcs: no WHMCS url set, events are not sent to WHMCS")
    ]


def test_the_previous_period_is_the_month_before():
    assert previous_period(datetime(2025, 1, 15, tzinfo=UTC)) == "2024-12"
    assert previous_period(datetime(2025, 3, 31, 23, 59, tzinfo=UTC)) == "2025-02"


def _load(tmp_path: Path, table: str, environ: dict[str, Any]) -> Settings:
    path = tmp_path / "hostmgr.toml"
    path.write_text(f"[plugins.billing_whmcs]\n{table}\n")
    return load_settings(path, {"HOSTMGR_DATA_DIR": str(tmp_path), **environ})


def test_settings_come_from_the_table_the_environment_or_a_reference(tmp_path):
    table = (
        'url = "https://billing.example.com/"\nidentifier = "abc"\n'
        'secret = { env = "WHMCS_API_SECRET" }\ntimeout = 4\n'
    )
    config = load_config(_load(tmp_path, table, {"WHMCS_API_SECRET": SECRET}))
    assert config is not None
    assert config.api_url == "https://billing.example.com/includes/api.php"
    assert (config.identifier, config.secret, config.delivery.timeout) == (
        "abc",
        SECRET,
        4,
    )
    assert SECRET not in repr(config) and "abc" not in repr(config)
    assert config.overage is None

    environ = {"WHMCS_API_SECRET": "x", "HOSTMGR_WHMCS_SECRET": "from-env"}
    config = load_config(_load(tmp_path, table, environ))
    assert config is not None and config.secret == "from-env"

    with pytest.raises(ConfigError, match="WHMCS_API_SECRET is not set"):
        _load(tmp_path, table, {})


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('url = "https://b.example.com"\nidentifier = "a"', "SECRET: is required"),
        ('url = "http://b.example.com"\nidentifier = "a"\nsecret = "s"', "https://"),
        ('url = "ftp://b"\nidentifier = "a"\nsecret = "s"', "http(s) URL"),
        (
            'url = "https://b.example.com"\nidentifier = "a"\nsecret = "s"\n'
            'overage_price_per_gb = 1\noverage_item_description = "{bogus}"',
            "unknown placeholder",
        ),
        (
            'url = "https://b.example.com"\nidentifier = "a"\nsecret = "s"\n'
            "retry_min = 10\nretry_max = 5",
            "RETRY_MAX: is below retry_min",
        ),
    ],
)
def test_bad_settings_stop_start_up_with_the_key_named(tmp_path, table, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_config(_load(tmp_path, table, {}))


def test_no_url_means_no_config(tmp_path):
    assert load_config(_load(tmp_path, 'identifier = "a"', {})) is None
