"""Background work repeated on an interval, stopped between rounds.

A round is never cancelled part-way: cancelling a task inside a database write
can leave the driver's connection lock held, and the next query then waits for
ever. ``stop`` asks the loop to finish its round and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[None]]):
        self.name = name
        self.interval = interval
        self.work = work
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            if self._stopping.is_set():
                return
            try:
                await self.work()
            except Exception:
                logger.exception("%s: round failed", self.name)

    async def stop(self) -> None:
        """Let the current round finish, then end the loop."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
