"""Choosing a free 127.0.0.1 port for a new instance.

The unique index on ``Instance.port`` is what makes a port race-free: two
workers may pick the same candidate, and only one of them can save it.
"""

from __future__ import annotations

import asyncio
import random
import socket
from typing import cast

from tortoise.exceptions import IntegrityError

from hostmgr.errors import ServiceUnavailable
from hostmgr.models import Instance


def is_bindable(port: int) -> bool:
    """True when nothing on this host listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def assign_port(instance: Instance, port_range: tuple[int, int]) -> int:
    """Give ``instance`` a port no other instance and no other program holds."""
    first, last = port_range
    used = await Instance.exclude(port=None).values_list("port", flat=True)
    taken = set(cast(list[int], used))
    candidates = [p for p in range(first, last + 1) if p not in taken]
    # A random start keeps concurrent creates from all trying the same port.
    offset = random.randrange(len(candidates)) if candidates else 0  # noqa: S311
    for port in candidates[offset:] + candidates[:offset]:
        if not await asyncio.to_thread(is_bindable, port):
            continue
        try:
            updated = await Instance.filter(id=instance.id).update(port=port)
        except IntegrityError:
            continue  # another create saved it first
        if updated:
            instance.port = port
            return port
    raise ServiceUnavailable(f"No free instance port left in {first}-{last}")
