"""Rootless Podman: the instance lifecycle run by a normal user's Podman service.

The test runs as root and sets the stage as an administrator would: a normal user
with subordinate ids, a containers.conf that works without systemd, the stand-in
image in that user's storage, and ``/dev/net/tun`` usable by that user (slirp4netns
needs it to publish ports; it is root-only here and put back afterwards).

On a cgroup v1 host Podman cannot set limits for a rootless container, so the
runtime says so and creates the container without them; limits are checked in the
rootful contract suite.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostmgr_runtime_podman import PodmanRuntime
from hostmgr_runtime_podman.service import write_containers_conf

from hostmgr.runtime import ContainerNotFound, ContainerSpec, Limits
from tests import standin
from tests.runtime.conftest import unique_name, wait_for_http
from tests.runtime.test_contract import free_port

USER = "hmrootless"
TUN = Path("/dev/net/tun")
CGROUP_V1 = not Path("/sys/fs/cgroup/cgroup.controllers").exists()

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sets up a user as root")


def as_user(command: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["su", "-", USER, "-s", "/bin/bash", "-c", command],
        capture_output=True,
        text=True,
        check=True,
        **kwargs,
    )


@pytest.fixture(scope="module")
def rootless_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        account = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", USER], check=True)
        account = pwd.getpwnam(USER)
    home = Path(account.pw_dir)
    uid, gid = account.pw_uid, account.pw_gid

    conf = write_containers_conf(home / ".config" / "containers" / "containers.conf")
    rootfs = standin.build_rootfs(home / "standin.tar")
    for path in (home / ".config", conf.parent, conf, rootfs):
        os.chown(path, uid, gid)
    changes = " ".join(f"--change '{change}'" for change in standin.CHANGES)
    as_user(f"podman import {changes} ~/standin.tar {standin.IMAGE}:latest")

    tun_mode = stat.S_IMODE(TUN.stat().st_mode)
    TUN.chmod(0o666)
    socket_path = home / "hostmgr-test.sock"
    service = subprocess.Popen(
        [
            "su",
            "-",
            USER,
            "-s",
            "/bin/bash",
            "-c",
            f"exec podman system service --time=0 unix://{socket_path}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            if socket_path.exists():
                break
            time.sleep(0.05)
        yield f"unix://{socket_path}"
    finally:
        service.terminate()
        service.wait(timeout=15)
        as_user("podman rm -af; podman volume rm -af")
        TUN.chmod(tun_mode)


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman not installed")
async def test_rootless_lifecycle(rootless_url):
    runtime = PodmanRuntime(rootless_url)
    name = unique_name()
    spec = ContainerSpec(
        name=name,
        image=f"{standin.IMAGE}:latest",
        volume=name,
        host_port=free_port(),
        limits=Limits(cpu_cores=0.5, memory_bytes=256 << 20),
    )
    try:
        assert await runtime.limits_enforced() is not CGROUP_V1
        container_id = await runtime.create(spec)
        await runtime.start(container_id, spec.limits)
        assert "ok" in await wait_for_http(spec.host_port)
        await runtime.stop(container_id, grace=5)
        assert not (await runtime.inspect(container_id)).running
        await runtime.start(container_id, spec.limits)
        boots = await wait_for_http(spec.host_port, "/data/boot.log")
        assert len(boots.splitlines()) == 2
        await runtime.remove(container_id, spec.volume)
        with pytest.raises(ContainerNotFound):
            await runtime.inspect(container_id)
        assert not await runtime.volume_exists(spec.volume)
    finally:
        await runtime.remove(name, name)
        await runtime.close()
