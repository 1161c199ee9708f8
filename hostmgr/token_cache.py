"""A short-lived, per-worker cache of API tokens and their owners.

Looking a token up costs a database round trip on every integration call, as
much as the rest of a stats call. Each worker keeps what it looked up for
``TTL`` seconds. Expiry, the IP allow-list and suspension are still checked on
every request against what is kept. A change to a token or an account reaches
the worker that made it at once (``forget``) and every other worker within
``TTL`` seconds; telling every worker over Redis would close that gap.
"""

from __future__ import annotations

import time

from hostmgr.models import ApiToken, User

TTL = 1.0
MAX_ENTRIES = 4096

_entries: dict[str, tuple[float, ApiToken, User]] = {}


def get(token_hash: str) -> tuple[ApiToken, User] | None:
    """The token and its owner, if looked up less than ``TTL`` seconds ago."""
    entry = _entries.get(token_hash)
    if entry is None or time.monotonic() - entry[0] >= TTL:
        return None
    return entry[1], entry[2]


def put(token_hash: str, token: ApiToken, user: User) -> None:
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()  # cheaper than tracking age; a miss costs one query
    _entries[token_hash] = (time.monotonic(), token, user)


def forget() -> None:
    """Drop everything: a token or an account changed in this worker."""
    _entries.clear()
