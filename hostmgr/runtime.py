"""The container runtime contract that engine plugins implement.

A runtime plugin answers the ``hostmgr_runtime`` hook with a ``Runtime``. Every
method is a coroutine and must not block the event loop: SDK calls go to a worker
thread. Errors are the ``RuntimeFailure`` tree below, never an SDK's own.

Containers are addressed by id. Limits set at create time must hold for the life
of the container; ``apply_limits`` changes them on a running container without a
restart, and ``start`` takes the current limits so that an engine whose live
updates do not survive a restart can apply them again.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from hostmgr import cgroups
from hostmgr.errors import ApiError

if TYPE_CHECKING:
    from hostmgr.config import Settings

logger = logging.getLogger(__name__)

N8N_PORT = 5678
N8N_DATA_PATH = "/home/node/.n8n"
N8N_UID = 1000


class RuntimeFailure(ApiError):
    """The container engine failed to do what was asked."""

    status_code = 500
    default_message = "The container engine failed"


class RuntimeUnavailable(RuntimeFailure):
    """The engine cannot be reached, or did not answer in time."""

    status_code = 503

    def __init__(self, engine: str, detail: str = "") -> None:
        super().__init__(f"The {engine} engine is unavailable")
        self.engine = engine
        self.detail = detail


class ContainerNotFound(RuntimeFailure):
    """No container (or volume) by that id or name."""

    status_code = 404

    def __init__(self, ref: str) -> None:
        super().__init__(f"Container {ref} not found")
        self.ref = ref


class ImageUnavailable(RuntimeFailure):
    """The image is not on the host and could not be pulled."""

    status_code = 422

    def __init__(self, image: str) -> None:
        super().__init__(f"Image {image} is not available")
        self.image = image


class NameConflict(RuntimeFailure):
    """A container or volume by that name exists already."""

    status_code = 409

    def __init__(self, name: str) -> None:
        super().__init__(f"A container named {name} exists already")
        self.name = name


@dataclasses.dataclass(frozen=True)
class Limits:
    cpu_cores: float
    memory_bytes: int
    pids: int = 1024

    CPU_PERIOD = 100_000

    @property
    def cpu_quota(self) -> int:
        """CFS quota in microseconds per ``CPU_PERIOD``."""
        return max(1000, round(self.cpu_cores * self.CPU_PERIOD))


@dataclasses.dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    volume: str
    host_port: int
    limits: Limits
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class SdkErrors:
    """The exceptions of a Docker-style SDK; podman-py mirrors the Docker SDK's."""

    not_found: type[Exception]
    image_not_found: type[Exception]
    api_error: type[Exception]
    #: No answer at all: connection refused, socket missing, timed out.
    unreachable: tuple[type[Exception], ...]
    #: An answer the SDK could not use.
    bad_answer: tuple[type[Exception], ...]


@contextlib.contextmanager
def translated_errors(engine: str, sdk: SdkErrors) -> Iterator[None]:
    """Turn an SDK's exceptions into the RuntimeFailure tree."""
    try:
        yield
    except sdk.image_not_found as exc:
        raise ImageUnavailable(_explain(exc)) from exc
    except sdk.not_found as exc:
        raise ContainerNotFound(_explain(exc)) from exc
    except sdk.api_error as exc:
        status = getattr(exc, "status_code", None)
        if status is None:  # the SDK's wording for "no answer": the engine is down
            raise RuntimeUnavailable(engine, str(exc)) from exc
        if status == 409:
            raise NameConflict(_explain(exc)) from exc
        logger.warning("%s API error: %s", engine, exc)
        raise RuntimeFailure(f"The {engine} engine refused the request") from exc
    except sdk.unreachable as exc:
        logger.warning("%s engine unreachable: %r", engine, exc)
        raise RuntimeUnavailable(engine, str(exc)) from exc
    except sdk.bad_answer as exc:
        logger.warning("%s engine answered badly: %r", engine, exc)
        raise RuntimeFailure(f"The {engine} engine failed") from exc
    except (OSError, TimeoutError) as exc:
        logger.warning("%s engine unreachable: %r", engine, exc)
        raise RuntimeUnavailable(engine, str(exc)) from exc


def _explain(exc: Exception) -> str:
    return str(getattr(exc, "explanation", None) or exc)


def create_options(spec: ContainerSpec, *, with_limits: bool = True) -> dict[str, Any]:
    """The create arguments both SDKs take (podman-py mirrors the Docker SDK).

    Kept in one place because they carry the security model: uid 1000, every
    capability dropped, no-new-privileges, and the port on 127.0.0.1 only.
    """
    options: dict[str, Any] = {
        "name": spec.name,
        "environment": dict(spec.env),
        "labels": dict(spec.labels),
        "ports": {f"{N8N_PORT}/tcp": ("127.0.0.1", spec.host_port)},
        "volumes": {spec.volume: {"bind": N8N_DATA_PATH, "mode": "rw"}},
        "user": f"{N8N_UID}:{N8N_UID}",
        "restart_policy": {"Name": "unless-stopped"},
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
    }
    if with_limits:
        options.update(
            mem_limit=spec.limits.memory_bytes,
            memswap_limit=spec.limits.memory_bytes,
            # Both SDKs take quota and period; podman-py drops nano_cpus silently.
            cpu_period=Limits.CPU_PERIOD,
            cpu_quota=spec.limits.cpu_quota,
            pids_limit=spec.limits.pids,
        )
    return options


@dataclasses.dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    state: str
    running: bool
    pid: int | None
    host_port: int | None
    memory_limit: int
    cpu_quota: int
    cpu_period: int
    volume: str | None

    @classmethod
    def from_inspect(cls, attrs: Mapping[str, Any]) -> ContainerInfo:
        """From the Docker-compatible inspect JSON that both engines answer."""
        state, host = attrs["State"], attrs["HostConfig"]
        bindings = (host.get("PortBindings") or {}).get(f"{N8N_PORT}/tcp") or []
        volumes = [
            m["Name"] for m in attrs.get("Mounts", []) if m.get("Type") == "volume"
        ]
        return cls(
            id=str(attrs["Id"]),
            name=str(attrs["Name"]).lstrip("/"),
            state=str(state["Status"]),
            running=bool(state["Running"]),
            pid=state.get("Pid") or None,
            host_port=int(bindings[0]["HostPort"]) if bindings else None,
            memory_limit=int(host.get("Memory") or 0),
            cpu_quota=int(host.get("CpuQuota") or 0),
            cpu_period=int(host.get("CpuPeriod") or 0),
            volume=volumes[0] if volumes else None,
        )


class Runtime(abc.ABC):
    """One container engine."""

    #: The engine's name, as in config and in error messages.
    name: str

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise RuntimeUnavailable unless the engine answers."""

    @abc.abstractmethod
    async def create(self, spec: ContainerSpec) -> str:
        """Create the volume and the container (not started); return its id.

        Pulls the image when the host lacks it; raises ImageUnavailable when that
        fails, and NameConflict if the volume or the container exists. Publishes
        ``spec.host_port`` on 127.0.0.1 only; runs as uid 1000 with no new
        privileges, every capability dropped, a restart policy, and the spec's
        CPU, memory and pids limits.
        """

    @abc.abstractmethod
    async def start(self, container_id: str, limits: Limits) -> None:
        """Start the container; ``limits`` hold once it runs."""

    @abc.abstractmethod
    async def stop(self, container_id: str, grace: int = 10) -> None:
        """Stop the container, killing it after ``grace`` seconds."""

    @abc.abstractmethod
    async def remove(self, container_id: str | None, volume: str | None) -> None:
        """Remove the container and the volume; either may be gone already."""

    @abc.abstractmethod
    async def inspect(self, container_id: str) -> ContainerInfo:
        """The container's state as the engine reports it."""

    @abc.abstractmethod
    async def apply_limits(self, container_id: str, limits: Limits) -> None:
        """Change CPU and memory limits live, without a restart."""

    @abc.abstractmethod
    async def logs(self, container_id: str, tail: int = 200) -> str:
        """The last ``tail`` lines of the container's output."""

    @abc.abstractmethod
    async def volume_exists(self, volume: str) -> bool:
        """Whether the named volume exists."""

    @abc.abstractmethod
    async def volume_path(self, volume: str) -> str:
        """Where the named volume's data lies on the host (to measure its size)."""

    async def close(self) -> None:  # noqa: B027 - optional, nothing to release here
        """Release connections and helper processes."""

    async def usage(self, pid: int) -> cgroups.Usage:
        """CPU time and memory of the container whose init process is ``pid``.

        Read from the cgroup files, which costs microseconds, rather than from the
        engine's stats call, which waits for two samples a second apart.
        """
        return await cgroups.read_usage(pid)


def load_runtime(pm: pluggy.PluginManager, settings: Settings) -> Runtime | None:
    """The runtime that ``settings.runtime`` names, or None if no plugin has it."""
    runtime = pm.hook.hostmgr_runtime(settings=settings, name=settings.runtime)
    if runtime is not None and not isinstance(runtime, Runtime):
        raise TypeError(f"a runtime plugin returned {type(runtime).__name__}")
    return runtime
