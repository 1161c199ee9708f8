"""The instance lifecycle: create, power actions, suspend, upgrade, terminate.

The database row leads and the engine follows: a create inserts the row first
(its unique name decides races), then makes the volume and container, and
removes everything it made if any step fails. Every later action holds the
instance's lease, so actions on one instance run one at a time.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from hostmgr.config import Settings
from hostmgr.errors import Forbidden, ValidationFailed
from hostmgr.models import Instance, InstanceStatus, Package, User
from hostmgr.routing import ProxyUnavailable, RouteWatcher, route_for
from hostmgr.runtime import (
    ContainerNotFound,
    ContainerSpec,
    ImageUnavailable,
    Limits,
    Runtime,
)
from hostmgr.services import ports, secretbox
from hostmgr.services.locks import instance_lock

logger = logging.getLogger(__name__)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,61}[A-Za-z0-9]$"
VERSION_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
GiB = 1024**3

# A failure hook for tests: called with the name of each create step.
Checkpoint = Callable[[str], Awaitable[None]]


async def _no_checkpoint(step: str) -> None:
    return None


def dns_label(name: str) -> str:
    """The DNS-safe form of an instance name: lower case, dashes only."""
    return re.sub(r"-{2,}", "-", name.lower().replace("_", "-")).strip("-")


def container_name(instance: Instance) -> str:
    return f"hostmgr-{dns_label(instance.name)}"


def volume_name(instance: Instance) -> str:
    return f"hostmgr-{dns_label(instance.name)}-data"


def package_limits(package: Package) -> Limits:
    return Limits(cpu_cores=package.cpu_cores, memory_bytes=int(package.ram_gb * GiB))


def n8n_environment(settings: Settings, instance: Instance) -> dict[str, str]:
    https = settings.public_url.startswith("https://")
    base = f"{'https' if https else 'http'}://{instance.domain}/"
    memory_mib = int(instance.package.ram_gb * 1024)
    return {
        "N8N_HOST": instance.domain,
        "N8N_PORT": "5678",
        "N8N_PROTOCOL": "https" if https else "http",
        "WEBHOOK_URL": base,
        "N8N_EDITOR_BASE_URL": base,
        "N8N_PROXY_HOPS": "1",
        "GENERIC_TIMEZONE": settings.timezone,
        "TZ": settings.timezone,
        "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
        "N8N_SECURE_COOKIE": "true" if https else "false",
        "N8N_ENCRYPTION_KEY": secretbox.unseal(
            settings.secret_key, instance.encryption_key
        ),
        # Below the container limit, so n8n fails a workflow, not the process.
        "NODE_OPTIONS": f"--max-old-space-size={max(128, memory_mib * 3 // 4)}",
    }


@dataclasses.dataclass
class InstanceService:
    settings: Settings
    runtime: Runtime
    routes: RouteWatcher | None = None

    async def _route(self, instance: Instance, *, required: bool = False) -> None:
        """Bring the instance's route in line with its row.

        A create needs its route (``required``); after any other action the
        engine has already acted, so a proxy that is down is logged and left to
        the route watcher, which puts every route right once it is back.
        """
        route = route_for(instance)
        if self.routes is None or route is None:
            return
        try:
            await self.routes.router.set_route(route)
        except ProxyUnavailable as exc:
            if required:
                # The proxy may have restarted empty: put every route back,
                # this one included, or fail the create.
                self.routes.mark_stale()
                await self.routes.round()
                if self.routes.stale:
                    raise
                return
            self.routes.mark_stale()
            logger.warning(
                "route of %s left to the watcher: %s", instance.name, exc.detail
            )

    async def _unroute(self, instance: Instance) -> None:
        if self.routes is None:
            return
        try:
            await self.routes.router.remove_route(instance.domain)
        except ProxyUnavailable as exc:
            self.routes.mark_stale()
            logger.warning(
                "route of %s left to the watcher: %s", instance.name, exc.detail
            )

    async def _check_limits(self, owner: User) -> None:
        if owner.instance_limit is not None:
            owned = await Instance.filter(user_id=owner.id).count()
            if owned >= owner.instance_limit:
                raise Forbidden(
                    f"Instance limit reached: {owner.username} may have "
                    f"{owner.instance_limit} instances"
                )
        reseller = None
        if owner.reseller_id is not None:
            reseller = await User.get_or_none(id=owner.reseller_id)
        if reseller is not None and reseller.instance_limit is not None:
            tree = Q(user_id=reseller.id) | Q(user__reseller_id=reseller.id)
            if await Instance.filter(tree).count() >= reseller.instance_limit:
                raise Forbidden(
                    f"Instance limit reached: reseller {reseller.username} may have "
                    f"{reseller.instance_limit} instances"
                )

    async def create(
        self,
        *,
        name: str,
        owner: User,
        package: Package,
        version: str,
        checkpoint: Checkpoint = _no_checkpoint,
    ) -> Instance:
        """Create and start an instance; on any failure leave nothing behind."""
        if owner.suspended:
            raise Forbidden(f"User {owner.username} is suspended")
        await self._check_limits(owner)
        await self.runtime.ping()  # engine down: fail before writing anything

        label = dns_label(name)
        domain = f"{label}.{self.settings.base_domain}"
        try:
            instance = await Instance.create(
                name=name,
                domain=domain,
                user=owner,
                package=package,
                version=version,
                status=InstanceStatus.CREATING,
                encryption_key=secretbox.seal(
                    self.settings.secret_key, secretbox.new_encryption_key()
                ),
            )
        except IntegrityError:
            raise ValidationFailed(
                {"name": ["The name has already been taken."]}
            ) from None

        try:
            await checkpoint("row")
            await ports.assign_port(instance, self.settings.instance_ports)
            await checkpoint("port")
            spec = ContainerSpec(
                name=container_name(instance),
                image=f"{self.settings.image}:{version}",
                volume=volume_name(instance),
                host_port=instance.port or 0,
                limits=package_limits(package),
                env=n8n_environment(self.settings, instance),
                labels={"hostmgr.instance": instance.name},
            )
            instance.container_id = await self.runtime.create(spec)
            await checkpoint("container")
            await instance.save(update_fields=["container_id"])
            await self.runtime.start(instance.container_id, spec.limits)
            await checkpoint("start")
            instance.status = InstanceStatus.RUNNING
            await instance.save(update_fields=["status", "updated_at"])
            await checkpoint("running")
            await self._route(instance, required=True)
            await checkpoint("route")
        except ImageUnavailable:
            await self._undo_create(instance)
            raise ValidationFailed(
                {"version": [f"Version {version} is not available on this server."]}
            ) from None
        except BaseException:
            await self._undo_create(instance)
            raise
        logger.info("created instance %s for %s", instance.name, owner.username)
        return instance

    async def _undo_create(self, instance: Instance) -> None:
        try:
            await self.runtime.remove(container_name(instance), volume_name(instance))
        finally:
            await Instance.filter(id=instance.id).delete()
            await self._unroute(instance)
        logger.warning(
            "create of instance %s failed; removed what it made", instance.name
        )

    async def _refresh(self, instance: Instance) -> Instance:
        return await Instance.get(id=instance.id).select_related("package", "user")

    async def start(self, instance: Instance) -> None:
        async with instance_lock(instance.id):
            instance = await self._refresh(instance)
            if instance.suspended:
                raise Forbidden(f"Instance is suspended: {instance.suspend_reason}")
            await self._start(instance)

    async def _start(self, instance: Instance) -> None:
        await self.runtime.start(
            instance.container_id or "", package_limits(instance.package)
        )
        instance.status = InstanceStatus.RUNNING
        await instance.save(update_fields=["status", "updated_at"])
        logger.info("started instance %s", instance.name)

    async def stop(self, instance: Instance) -> None:
        async with instance_lock(instance.id):
            instance = await self._refresh(instance)
            await self._stop(instance, InstanceStatus.STOPPED)

    async def _stop(self, instance: Instance, status: InstanceStatus) -> None:
        await self.runtime.stop(instance.container_id or "")
        instance.status = status
        await instance.save(update_fields=["status", "updated_at"])
        logger.info("stopped instance %s", instance.name)

    async def restart(self, instance: Instance) -> None:
        async with instance_lock(instance.id):
            instance = await self._refresh(instance)
            if instance.suspended:
                raise Forbidden(f"Instance is suspended: {instance.suspend_reason}")
            await self._stop(instance, InstanceStatus.STOPPED)
            await self._start(instance)

    async def suspend(self, instance: Instance, reason: str) -> None:
        async with instance_lock(instance.id):
            instance = await self._refresh(instance)
            await self.runtime.stop(instance.container_id or "")
            instance.suspended = True
            instance.suspend_reason = reason
            instance.status = InstanceStatus.SUSPENDED
            await instance.save(
                update_fields=["suspended", "suspend_reason", "status", "updated_at"]
            )
            await self._route(instance)
            logger.info("suspended instance %s: %s", instance.name, reason)

    async def unsuspend(self, instance: Instance) -> None:
        async with instance_lock(instance.id):
            instance = await self._refresh(instance)
            instance.suspended = False
            instance.suspend_reason = None
            await instance.save(update_fields=["suspended", "suspend_reason"])
            await self._route(instance)
            await self._start(instance)

    async def suspend_owned(self, owner_ids: list[int], reason: str) -> int:
        """Suspend every running or stopped instance of these owners."""
        found = await Instance.filter(user_id__in=owner_ids, suspended=False)
        for instance in found:
            await self.suspend(instance, reason)
        return len(found)

    async def unsuspend_owned(self, owner_ids: list[int], reason: str) -> int:
        """Lift the suspensions given for ``reason`` only; others stay."""
        found = await Instance.filter(
            user_id__in=owner_ids, suspended=True, suspend_reason=reason
        )
        for instance in found:
            await self.unsuspend(instance)
        return len(found)

    async def upgrade(self, instance: Instance, package: Package) -> None:
        """Move to ``package`` and apply its limits live, without a restart."""
        async with instance_lock(instance.id):
            instance = await self._refresh(instance)
            await self.runtime.apply_limits(
                instance.container_id or "", package_limits(package)
            )
            instance.package = package
            await instance.save(update_fields=["package_id", "updated_at"])
            logger.info("moved instance %s to package %s", instance.name, package.name)

    async def terminate(self, instance: Instance) -> None:
        """Remove the container, the volume, the record and the route."""
        async with instance_lock(instance.id):
            instance = await self._refresh(instance)
            try:
                await self.runtime.remove(
                    instance.container_id or container_name(instance),
                    volume_name(instance),
                )
            except ContainerNotFound:
                pass
            await Instance.filter(id=instance.id).delete()
            await self._unroute(instance)
            logger.info("terminated instance %s", instance.name)
