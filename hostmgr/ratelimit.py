"""Per-token rate limiting over a moving one-minute window.

With ``rate_limit_storage = "memory://"`` the counters live in each worker
process, which is exact only for a single worker; ``serve`` refuses more workers
with it. A ``redis://`` storage shares the counters across every worker and every
panel replica.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from hostmgr.errors import RateLimited, ServiceUnavailable


def is_shared_storage(url: str) -> bool:
    """True when ``url`` names storage shared between processes."""
    return not url.startswith("memory://")


class TokenRateLimiter:
    def __init__(self, per_minute: int, storage_url: str) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        self.storage: Storage
        if is_shared_storage(storage_url):
            self.storage = RedisStorage(
                "async+" + storage_url,
                implementation="redispy",
                key_prefix="hostmgr",
                wrap_exceptions=True,
                socket_timeout=2,
                socket_connect_timeout=2,
            )
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, key: str) -> None:
        """Count one request for ``key``; raise RateLimited once over the limit."""
        try:
            allowed = await self.limiter.hit(self.item, "token", key)
            if allowed:
                return
            stats = await self.limiter.get_window_stats(self.item, "token", key)
        except Exception as exc:
            # limits wraps every storage failure; redis being down is an outage,
            # not a reason to let traffic through unlimited.
            raise ServiceUnavailable("Rate-limit storage is unavailable") from exc
        raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())))
