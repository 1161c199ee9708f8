"""Counting failed panel sign-ins, in the same storage as the API's rate limit.

With ``rate_limit_storage`` on Redis the counts hold across workers and
replicas; in memory they are per worker, like the API's.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from hostmgr.errors import RateLimited, ServiceUnavailable

WINDOW_MINUTES = 15
PER_ACCOUNT = 5
PER_ADDRESS = 50


class LoginThrottle:
    """Failed sign-ins: ``PER_ACCOUNT`` per account and address, ``PER_ADDRESS``
    per address, in a moving window of ``WINDOW_MINUTES``.

    Counted by the name typed in, whether or not such an account exists, so the
    throttle tells nothing about which accounts exist; and per address, so that
    failures from elsewhere cannot lock the account's owner out. A test and a
    hit are two steps: a burst of parallel tries can pass the count by a few.
    """

    def __init__(self, storage: Storage) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.account = RateLimitItemPerMinute(PER_ACCOUNT, WINDOW_MINUTES)
        self.address = RateLimitItemPerMinute(PER_ADDRESS, WINDOW_MINUTES)

    def _keys(
        self, login: str, ip: str
    ) -> tuple[tuple[RateLimitItemPerMinute, str, str], ...]:
        return ((self.account, login.lower(), ip), (self.address, "*", ip))

    async def check(self, login: str, ip: str) -> None:
        """Raise RateLimited while either count is spent."""
        try:
            for item, *key in self._keys(login, ip):
                if not await self.limiter.test(item, "panel-login", *key):
                    stats = await self.limiter.get_window_stats(
                        item, "panel-login", *key
                    )
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    raise RateLimited(wait)
        except RateLimited:
            raise
        except Exception as exc:
            raise ServiceUnavailable("Sign-in is unavailable right now") from exc

    async def record_failure(self, login: str, ip: str) -> None:
        try:
            for item, *key in self._keys(login, ip):
                await self.limiter.hit(item, "panel-login", *key)
        except Exception as exc:
            raise ServiceUnavailable("Sign-in is unavailable right now") from exc
