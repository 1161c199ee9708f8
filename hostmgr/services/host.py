"""Facts about the host machine, read with psutil."""

from __future__ import annotations

import functools
import ipaddress
import os
import platform
import socket
import time
from pathlib import Path

import psutil


def primary_ip() -> str:
    """The first global IPv4 address of an interface that is up, else loopback."""
    stats = psutil.net_if_stats()
    candidates = []
    for name, addresses in psutil.net_if_addrs().items():
        if name in stats and not stats[name].isup:
            continue
        for address in addresses:
            if address.family != socket.AF_INET:
                continue
            ip = ipaddress.ip_address(address.address)
            if not (ip.is_loopback or ip.is_link_local):
                candidates.append((name, str(address.address)))
    # Container bridges are never the host's public face.
    for name, address in sorted(candidates):
        if not name.startswith(("docker", "br-", "veth", "cni", "podman")):
            return address
    return candidates[0][1] if candidates else "127.0.0.1"


@functools.cache
def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def format_uptime(seconds: float) -> str:
    """``2 days, 4 hours``; minutes are shown only in the first hour."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours or days:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not parts:
        minutes = rest // 60
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return ", ".join(parts)


def system_info() -> dict[str, str]:
    """Blocking reads of /proc and /etc: call it from a worker thread."""
    return {
        "os": os_name(),
        "kernel": platform.release(),
        "ip": primary_ip(),
        "uptime": format_uptime(time.time() - psutil.boot_time()),
        "hostname": socket.gethostname(),
    }


def load_averages() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1": round(one, 2), "5": round(five, 2), "15": round(fifteen, 2)}
