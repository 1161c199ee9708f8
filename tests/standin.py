"""A small stand-in for the n8n image, built locally (nothing can be pulled here).

Like n8n it listens on 5678, runs as uid 1000 and keeps its data under
/home/node/.n8n. It answers ``/healthz``, appends a line to ``boot.log`` in its
data directory on every start, and serves that directory under ``/data/`` so
tests can see what persisted. A real n8n image can be used instead by setting
``HOSTMGR_IMAGE``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

IMAGE = "localhost/hostmgr-standin"
TAGS = ("latest", "1.0")
BUSYBOX = Path("/usr/bin/busybox")
APPLETS = ("sh", "httpd", "date", "cat", "sleep", "ls")

ENTRYPOINT = """#!/bin/sh
echo "boot $(date +%s)" >> /home/node/.n8n/boot.log
echo "stand-in n8n listening on 5678"
trap 'kill "$pid"; exit 0' TERM INT
httpd -f -p 5678 -h /www &
pid=$!
wait "$pid"
"""

CHANGES = (
    "USER 1000",
    "EXPOSE 5678",
    "WORKDIR /home/node",
    'CMD ["/usr/local/bin/standin"]',
)


def _add(
    tar: tarfile.TarFile,
    name: str,
    data: bytes | None = None,
    *,
    mode: int = 0o755,
    uid: int = 0,
    link: str | None = None,
    directory: bool = False,
) -> None:
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid = mode, uid, uid
    if directory:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
        tar.addfile(info)
    else:
        payload = data or b""
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def build_rootfs(path: Path) -> Path:
    if not BUSYBOX.exists():
        raise RuntimeError("install Debian's busybox-static for the stand-in image")
    with tarfile.open(path, "w") as tar:
        for directory in (
            "bin",
            "etc",
            "tmp",
            "www",
            "home",
            "usr",
            "usr/local",
            "usr/local/bin",
        ):
            _add(
                tar,
                directory,
                directory=True,
                mode=0o1777 if directory == "tmp" else 0o755,
            )
        _add(tar, "home/node", directory=True, uid=1000)
        _add(tar, "home/node/.n8n", directory=True, uid=1000, mode=0o700)
        _add(tar, "bin/busybox", BUSYBOX.read_bytes())
        for applet in APPLETS:
            _add(tar, f"bin/{applet}", link="busybox")
        _add(tar, "usr/local/bin/standin", ENTRYPOINT.encode())
        _add(
            tar,
            "etc/passwd",
            b"root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n",
            mode=0o644,
        )
        _add(tar, "etc/group", b"root:x:0:\nnode:x:1000:\n", mode=0o644)
        _add(tar, "www/healthz", b'{"status":"ok"}\n', mode=0o644)
        _add(tar, "www/data", link="/home/node/.n8n")
    return path


def build(engine: str, workdir: Path, env: dict[str, str] | None = None) -> str:
    """Import the stand-in into ``engine`` under every tag; return the image name."""
    binary = shutil.which(engine)
    if binary is None:
        raise RuntimeError(f"{engine} is not installed")
    rootfs = build_rootfs(workdir / f"standin-{engine}.tar")
    for tag in TAGS:
        args = [binary, "import"]
        for change in CHANGES:
            args += ["--change", change]
        subprocess.run(
            [*args, str(rootfs), f"{IMAGE}:{tag}"],
            check=True,
            capture_output=True,
            env={**os.environ, **(env or {})},
        )
    return IMAGE
