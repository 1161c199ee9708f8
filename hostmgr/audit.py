"""The audit trail: one AuditEntry per integration API call, written behind.

Entries are queued by the response middleware and written in batches by a
background task, so no request waits on an INSERT. The queue is flushed every
``FLUSH_INTERVAL`` seconds and when the worker stops; an entry can be lost only
if the process dies in between.
"""

from __future__ import annotations

import logging
from typing import Any

from hostmgr.models import AuditEntry
from hostmgr.periodic import Periodic

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.25
MAX_BATCH = 500


class AuditLog:
    def __init__(self) -> None:
        self.pending: list[AuditEntry] = []
        self.writer = Periodic("audit writer", FLUSH_INTERVAL, self.flush)

    def record(self, **fields: Any) -> None:
        self.pending.append(AuditEntry(**fields))

    async def flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            try:
                await AuditEntry.bulk_create(batch)
            except Exception:
                logger.exception("could not write %d audit entries", len(batch))

    def start(self) -> None:
        self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.flush()
