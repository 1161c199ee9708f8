"""For the tests of outbox sinks: panel apps, waiting on the outbox, a receiver.

``LoopbackServer`` is a real HTTP server on a free 127.0.0.1 port that can be
stopped and started again on the same port, as a receiver that goes down and
comes back.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sanic import Sanic

from hostmgr.app import create_app
from hostmgr.config import Settings
from hostmgr.models import DeliveryAttempt
from hostmgr.outbox import pending
from hostmgr.plugins import create_plugin_manager
from tests.test_serve import free_port

WAIT = 60.0

#: ``(path, headers, body)`` to ``(status, body)``.
Answer = Callable[[str, dict[str, str], bytes], tuple[int, bytes]]


def new_app(settings: Settings) -> Sanic:
    """A panel process of its own, with every installed plugin."""
    return create_app(
        settings,
        create_plugin_manager(),
        manage_db=False,
        name=f"hostmgr_{uuid.uuid4().hex[:8]}",
    )


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await check():
        assert loop.time() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.02)


async def wait_until_delivered(sink: str) -> None:
    async def done() -> bool:
        return not await pending(sink).exists()

    await wait_until(done, f"every {sink} message to be delivered")


async def wait_for_failed_attempt(sink: str) -> None:
    async def failed() -> bool:
        return await DeliveryAttempt.exists(sink=sink, ok=False)

    await wait_until(failed, f"a failed {sink} attempt")


class LoopbackServer:
    """Answers every POST with ``answer``, in threads of its own."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        answer = self.answer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, data = answer(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the tests assert on what was received instead

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
