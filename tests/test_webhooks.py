"""The signed-webhook plugin, against a real HTTP receiver on a 127.0.0.1 port.

The receiver checks every delivery with ``verify_signature``, the documented
algorithm; the README's own Python and PHP functions are run against real
deliveries too (PHP with php-cli).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostmgr_events_webhook import SINK, sign, verify_signature

from hostmgr.config import Settings
from hostmgr.events import Event, emit
from hostmgr.models import DeliveryAttempt, OutboxMessage
from tests.conftest import make_settings, started
from tests.sinks import (
    LoopbackServer,
    new_app,
    wait_for_failed_attempt,
    wait_until_delivered,
)

SECRET = "webhook-secret-" + "w" * 20
README = Path(__file__).parents[1] / "plugins/events_webhook/README.md"


class Receiver:
    """An HTTP endpoint that verifies each delivery and keeps the valid ones."""

    def __init__(self) -> None:
        self.server = LoopbackServer(self.handle)
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.rejected = 0
        #: Statuses to answer instead of judging, one per request.
        self.answers: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/hooks"

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if self.answers:
            return self.answers.pop(0), b""
        ok = path == "/hooks" and verify_signature(
            SECRET,
            headers.get("X-Hostmgr-Timestamp", ""),
            body,
            headers.get("X-Hostmgr-Signature", ""),
        )
        if not ok:
            self.rejected += 1
            return 401, b""
        self.deliveries.append((headers, body))
        return 204, b""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.server.stop()


def webhook_settings(
    tmp_path: Path, db: str, receiver: Receiver, **extra: str
) -> Settings:
    options = {
        "webhook_url": receiver.url,
        "webhook_secret": SECRET,
        "webhook_poll_interval": "0.02",
        "webhook_retry_min": "0.05",
        "webhook_retry_max": "0.2",
        **extra,
    }
    return make_settings(tmp_path, db, **options)


EVENTS = [
    Event("instance.created", "shop", {"domain": "shop.hosted.test", "user_id": 3}),
    Event("instance.suspended", "shop", {"reason": "Unpaid invoice"}),
    Event("user.created", "jane", {"user_id": 4, "email": "jane@example.com"}),
]


async def test_events_arrive_signed_once_and_in_order_across_a_restart(
    tmp_path, db, receiver
):
    settings = webhook_settings(tmp_path, db, receiver)
    async with started(new_app(settings)) as panel:  # the receiver is down
        for event in EVENTS:
            await emit(panel.app.ctx.pm, event)
        await wait_for_failed_attempt(SINK)

    receiver.server.start()
    async with started(new_app(settings)):
        await wait_until_delivered(SINK)

    messages = await OutboxMessage.filter(sink="webhook").order_by("id")
    assert receiver.rejected == 0
    assert len(receiver.deliveries) == len(EVENTS)
    for (headers, body), message, event in zip(
        receiver.deliveries, messages, EVENTS, strict=True
    ):
        document = json.loads(body)
        assert document == {
            "id": message.id,
            "event": event.name,
            "subject": event.subject,
            "data": dict(event.data),
            "occurred_at": event.at.isoformat(),
        }
        assert headers["X-Hostmgr-Event"] == event.name
        assert headers["X-Hostmgr-Delivery"] == str(message.id)
        assert abs(int(headers["X-Hostmgr-Timestamp"]) - time.time()) < 300
        assert headers["X-Hostmgr-Signature"] == sign(
            SECRET, headers["X-Hostmgr-Timestamp"], body
        )
    attempts = await DeliveryAttempt.filter(sink="webhook", ok=True)
    assert [(a.http_status, a.action) for a in attempts] == [
        (204, f"POST {event.name}") for event in EVENTS
    ]


async def test_the_event_filter_keeps_only_matching_names(tmp_path, db, receiver):
    receiver.server.start()
    settings = webhook_settings(
        tmp_path, db, receiver, webhook_events="instance.*, reseller.suspended"
    )
    async with started(new_app(settings)) as panel:
        for event in [*EVENTS, Event("reseller.suspended", "acme", {})]:
            await emit(panel.app.ctx.pm, event)
        await wait_until_delivered(SINK)

    sent = [json.loads(body)["event"] for _, body in receiver.deliveries]
    assert sent == ["instance.created", "instance.suspended", "reseller.suspended"]


async def test_refusals_are_retried_and_a_gone_endpoint_drops_the_message(
    tmp_path, db, receiver
):
    receiver.answers = [401, 503, 410]
    receiver.server.start()
    async with started(new_app(webhook_settings(tmp_path, db, receiver))) as panel:
        for event in EVENTS[:2]:
            await emit(panel.app.ctx.pm, event)
        await wait_until_delivered(SINK)

    first, second = await OutboxMessage.filter(sink="webhook").order_by("id")
    assert first.failed_at is not None and first.attempts == 3
    assert first.last_error == "HTTP 410"
    assert second.delivered_at is not None
    assert [json.loads(body)["id"] for _, body in receiver.deliveries] == [second.id]


def test_tampering_with_body_timestamp_or_signature_is_detected():
    body = b'{"event":"instance.stopped","id":7}'
    now = 1_767_225_600
    header = sign(SECRET, now, body)
    assert verify_signature(SECRET, str(now), body, header, now=now)

    assert not verify_signature(SECRET, str(now), body + b" ", header, now=now)
    assert not verify_signature(SECRET, str(now + 1), body, header, now=now)
    tampered = header[:-1] + ("0" if header[-1] != "0" else "1")
    assert not verify_signature(SECRET, str(now), body, tampered, now=now)
    assert not verify_signature(
        "another-secret-entirely", str(now), body, header, now=now
    )
    assert not verify_signature(
        SECRET, str(now), body, header.removeprefix("sha256="), now=now
    )
    assert not verify_signature(SECRET, "soon", body, header, now=now)


def test_an_old_or_future_timestamp_is_refused():
    body = b"{}"
    sent = 1_767_225_600
    header = sign(SECRET, sent, body)

    assert verify_signature(
        SECRET, str(sent), body, header, tolerance=300, now=sent + 300
    )
    assert not verify_signature(
        SECRET, str(sent), body, header, tolerance=300, now=sent + 301
    )
    assert not verify_signature(
        SECRET, str(sent), body, header, tolerance=300, now=sent - 301
    )
    assert not verify_signature(
        SECRET, str(sent), body, header, tolerance=60, now=sent + 61
    )


def _snippet(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.DOTALL)
    (block,) = [b for b in blocks if marker in b]
    return str(block)


def _signed_samples() -> list[tuple[dict[str, str], bool]]:
    body = '{"event":"instance.created","id":1}'
    timestamp = str(int(time.time()))
    header = sign(SECRET, timestamp, body.encode())
    old = str(int(time.time()) - 3600)
    return [
        ({"timestamp": timestamp, "body": body, "header": header}, True),
        ({"timestamp": timestamp, "body": body + " ", "header": header}, False),
        ({"timestamp": str(int(timestamp) + 1), "body": body, "header": header}, False),
        (
            {
                "timestamp": old,
                "body": body,
                "header": sign(SECRET, old, body.encode()),
            },
            False,
        ),
    ]


def test_the_documented_python_function_verifies_deliveries():
    namespace: dict[str, Any] = {}
    exec(_snippet("python", "def verify("), namespace)  # noqa: S102 - our README
    for sample, expected in _signed_samples():
        ok = namespace["verify"](
            SECRET.encode(),
            sample["timestamp"],
            sample["body"].encode(),
            sample["header"],
        )
        assert ok is expected, sample


def test_the_documented_php_function_verifies_deliveries(tmp_path):
    php = shutil.which("php")
    if php is None:
        pytest.fail("php-cli is not installed: apt-get install php-cli")
    script = tmp_path / "verify.php"
    script.write_text(
        "<?php\n"
        + _snippet("php", "function hostmgr_verify_signature")
        + "$in = json_decode(stream_get_contents(STDIN), true);\n"
        "echo hostmgr_verify_signature($in['secret'], $in['timestamp'], $in['body'],"
        " $in['header']) ? 'valid' : 'invalid';\n"
    )
    for sample, expected in _signed_samples():
        result = subprocess.run(
            [php, str(script)],
            input=json.dumps({"secret": SECRET, **sample}),
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout == ("valid" if expected else "invalid"), sample


def test_hostmgr_plugins_lists_both_event_plugins(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hostmgr", "plugins"],
        env={**os.environ, "HOSTMGR_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    hooks = "[hostmgr_register_routes, hostmgr_shutdown, hostmgr_startup]"
    assert f"events_webhook  hostmgr-events-webhook 0.1.0  {hooks}" in result.stdout
    assert f"billing_whmcs  hostmgr-billing-whmcs 0.1.0  {hooks}" in result.stdout
