"""Short-lived, per-worker caches of the rows every integration call reads.

Looking a token or an instance up costs a database round trip, and on the hot
path (a stats call) each costs as much as the rest of the call. Each worker keeps
what it looked up for ``TTL`` seconds. A change reaches the worker that made it
at once (``forget``) and every other worker within ``TTL`` seconds; telling
every worker over Redis would close that gap.

- ``tokens``: a token hash to the token and its owner. Expiry, the IP allow-list
  and suspension are still checked on every request against what is kept.
- ``instances``: an instance name to the instance with its package, for stats.
  Ownership is checked on every request; the live state comes from the engine.
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

from hostmgr.models import ApiToken, Instance, User

TTL = 1.0
MAX_ENTRIES = 4096

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self) -> None:
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """What was put under ``key`` less than ``TTL`` seconds ago."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= TTL:
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # cheaper than tracking age; a miss costs a query
        self._entries[key] = (time.monotonic(), value)

    def forget(self) -> None:
        """Drop everything: something kept here changed in this worker."""
        self._entries.clear()


tokens: TtlCache[str, tuple[ApiToken, User]] = TtlCache()
instances: TtlCache[str, tuple[Instance, int | None]] = TtlCache()
