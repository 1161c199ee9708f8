"""The ``hostmgr`` command line."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import re
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from tortoise.exceptions import IntegrityError

from hostmgr import db
from hostmgr.api import schemas
from hostmgr.api.validation import field_errors
from hostmgr.config import Settings, load_settings
from hostmgr.errors import HostmgrError, ValidationFailed
from hostmgr.models import (
    DeliveryAttempt,
    OutboxMessage,
    Package,
    Role,
    User,
)
from hostmgr.outbox import state_of
from hostmgr.plugins import create_plugin_manager, describe_plugins
from hostmgr.ratelimit import is_shared_storage
from hostmgr.services import accounts

T = TypeVar("T")
logger = logging.getLogger("hostmgr")

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def fail(message: str) -> None:
    raise click.ClickException(message)


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``12h`` or ``30d``."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter(f"{text!r} is not a duration like 3600, 15m, 12h, 30d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _describe(exc: HostmgrError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items()
        )
    return str(exc)


def with_database(
    func: Callable[..., Awaitable[T]],
) -> Callable[..., T]:
    """Run an async command with the database open and its schema checked."""

    @click.pass_obj
    @functools.wraps(func)
    def wrapper(settings: Settings, *args: Any, **kwargs: Any) -> T:
        async def run() -> T:
            await db.connect(settings.database_url)
            try:
                await db.check_schema()
                return await func(settings, *args, **kwargs)
            finally:
                await db.close()

        try:
            return asyncio.run(run())
        except HostmgrError as exc:
            raise click.ClickException(_describe(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"database unreachable: {exc}") from None

    return wrapper


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="TOML config file (default: $HOSTMGR_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Run and manage hostmgr."""
    try:
        settings = load_settings(config_path)
    except HostmgrError as exc:
        raise click.ClickException(str(exc)) from None
    # Only the server logs at the configured level; the other commands keep
    # stderr for warnings and their one-line errors.
    serving = ctx.invoked_subcommand == "serve"
    logging.basicConfig(
        level=settings.log_level.upper() if serving else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    ctx.obj = settings


@cli.command()
@click.pass_obj
def init(settings: Settings) -> None:
    """Create the data directory and apply database migrations."""

    async def run() -> list[str]:
        await db.connect(settings.database_url)
        try:
            return await db.migrate()
        finally:
            await db.close()

    try:
        applied = asyncio.run(run())
    except OSError as exc:
        fail(f"database unreachable: {exc}")
    click.echo(f"applied {len(applied)} migrations" if applied else "schema up to date")


@cli.command()
@click.option("--host", help="Listen address (default: config host).")
@click.option("--port", type=click.IntRange(1, 65535), help="Listen port.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, workers: int) -> None:
    """Serve the panel and the integration API."""
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from hostmgr.app import create_app

    if workers > 1 and not is_shared_storage(settings.rate_limit_storage):
        fail(
            "rate_limit_storage memory:// holds for one worker only; "
            "set HOSTMGR_RATE_LIMIT_STORAGE=redis://... to run several workers"
        )

    async def check() -> None:
        await db.connect(settings.database_url)
        try:
            await db.check_schema()
        finally:
            await db.close()

    try:
        asyncio.run(check())
    except HostmgrError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"database unreachable: {exc}")

    loader = AppLoader(factory=functools.partial(create_app, settings))
    try:
        app = loader.load()
    except HostmgrError as exc:
        fail(str(exc))
    app.prepare(
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        access_log=False,
        motd=False,
        single_process=workers == 1,
    )
    logger.info("serving on %s:%s", host or settings.host, port or settings.port)
    Sanic.serve(primary=app, app_loader=loader)


@cli.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--username")
@click.option("--password", help="Default: a random one, printed once.")
@click.option("--reseller", "reseller_username", help="Owning reseller's username.")
@with_database
async def user_create(
    settings: Settings,
    role: str,
    email: str,
    name: str,
    username: str | None,
    password: str | None,
    reseller_username: str | None,
) -> None:
    """Create an account."""
    generated = password is None
    password = password or secrets.token_urlsafe(16)
    try:
        body = schemas.AccountCreate(
            name=name, email=email, password=password, username=username
        )
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None
    reseller = None
    if reseller_username:
        reseller = await User.get_or_none(
            username=reseller_username.lower(), role=Role.RESELLER
        )
        if reseller is None:
            fail(f"no reseller with username {reseller_username!r}")
    created = await accounts.create_user(
        **body.model_dump(exclude={"instance_limit"}),
        role=Role(role),
        reseller=reseller,
    )
    click.echo(f"created {created.role.value} {created.username} (id {created.id})")
    if generated:
        click.echo(f"password: {password}")


@cli.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--email", required=True, help="The owner's email.")
@click.option("--name", default="default", show_default=True)
@click.option("--allow-ip", "allow_ips", multiple=True, help="IP or CIDR; repeatable.")
@click.option("--expires-in", help="Lifetime: 3600, 15m, 12h, 30d. Default: none.")
@with_database
async def token_create(
    settings: Settings,
    email: str,
    name: str,
    allow_ips: tuple[str, ...],
    expires_in: str | None,
) -> None:
    """Create a token and print it, only it, on stdout. It is not shown again."""
    networks = []
    for entry in allow_ips:
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            fail(f"--allow-ip {entry!r} is not an IP address or CIDR network")
    lifetime = parse_duration(expires_in) if expires_in else None
    owner = await User.get_or_none(email=accounts.normalize_email(email))
    if owner is None:
        fail(f"no user with email {email!r}")
        return
    click.echo(await accounts.issue_token(owner, name, networks, lifetime))


@cli.group()
def package() -> None:
    """Manage resource packages."""


@package.command("create")
@click.option("--name", required=True)
@click.option("--cpu", type=click.FloatRange(0.01, 256), required=True, help="Cores.")
@click.option("--ram", type=click.FloatRange(0.03, 4096), required=True, help="GB.")
@click.option("--disk", type=click.IntRange(1, 65536), required=True, help="GB.")
@with_database
async def package_create(
    settings: Settings, name: str, cpu: float, ram: float, disk: int
) -> None:
    """Create a package."""
    try:
        created = await Package.create(
            name=name.strip(), cpu_cores=cpu, ram_gb=ram, disk_gb=disk
        )
    except IntegrityError:
        fail(f"a package named {name!r} already exists")
        return
    click.echo(f"created package {created.name} (id {created.id})")


@package.command("list")
@with_database
async def package_list(settings: Settings) -> None:
    """List packages."""
    rows = await Package.all()
    click.echo(
        f"{'ID':>4}  {'NAME':<24} {'CPU':>6} {'RAM GB':>7} {'DISK GB':>8}  ACTIVE"
    )
    for row in rows:
        click.echo(
            f"{row.id:>4}  {row.name:<24} {row.cpu_cores:>6g} {row.ram_gb:>7g} "
            f"{row.disk_gb:>8}  {'yes' if row.active else 'no'}"
        )


@cli.command()
def plugins() -> None:
    """List the loaded plugins, their versions and hooks."""
    for row in describe_plugins(create_plugin_manager()):
        click.echo(
            f"{row['name']}  {row['distribution']} {row['version']}  [{row['hooks']}]"
        )


@cli.command()
@click.pass_obj
def doctor(settings: Settings) -> None:
    """Check the config, the database, the engine and the proxy."""
    from hostmgr.doctor import Level, examine

    findings = asyncio.run(examine(create_plugin_manager(), settings))
    for finding in findings:
        click.echo(f"{finding.level.value:<4}  {finding.subject}: {finding.text}")
        if finding.fix:
            click.echo(f"      fix: {finding.fix}")
    failed = sum(finding.level is Level.FAIL for finding in findings)
    if failed:
        fail(f"{failed} problem{'s' if failed > 1 else ''} found")


@cli.group()
def outbox() -> None:
    """Show what the outbox holds for each sink, and how delivery went."""


@outbox.command("list")
@click.option("--sink", help="Only this sink, for example whmcs.")
@click.option("--pending", is_flag=True, help="Only messages not yet delivered.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@with_database
async def outbox_list(
    settings: Settings, sink: str | None, pending: bool, limit: int
) -> None:
    """List messages, newest first."""
    query = OutboxMessage.all()
    if sink:
        query = query.filter(sink=sink)
    if pending:
        query = query.filter(delivered_at=None, failed_at=None)
    click.echo(
        f"{'ID':>6}  {'SINK':<10} {'EVENT':<24} {'SUBJECT':<24} {'STATE':<9} "
        f"{'TRIES':>5}  NEXT / LAST ERROR"
    )
    for row in await query.order_by("-id").limit(limit):
        state = state_of(row)
        due = (
            row.next_attempt_at.isoformat(timespec="seconds")
            if row.next_attempt_at
            else ""
        )
        note = f"{due} {row.last_error or ''}".strip() if state != "delivered" else ""
        click.echo(
            f"{row.id:>6}  {row.sink:<10} {row.event:<24} {row.subject:<24} "
            f"{state:<9} {row.attempts:>5}  {note}"
        )


@outbox.command("log")
@click.option("--sink", help="Only this sink.")
@click.option("--message", "message_id", type=int, help="Only this message.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@with_database
async def outbox_log(
    settings: Settings, sink: str | None, message_id: int | None, limit: int
) -> None:
    """List delivery attempts, newest first."""
    query = DeliveryAttempt.all()
    if sink:
        query = query.filter(sink=sink)
    if message_id is not None:
        query = query.filter(message_id=message_id)
    click.echo(
        f"{'WHEN':<25} {'SINK':<10} {'MESSAGE':>7}  {'OK':<3} {'HTTP':>4} "
        f"{'MS':>8}  ACTION / ERROR"
    )
    for row in await query.order_by("-id").limit(limit):
        outcome = row.action if row.ok else f"{row.action}: {row.error or ''}"
        click.echo(
            f"{row.attempted_at.isoformat(timespec='seconds'):<25} {row.sink:<10} "
            f"{row.message_id:>7}  {'yes' if row.ok else 'no':<3} "
            f"{row.http_status or '':>4} {row.duration_ms:>8.1f}  {outcome}"
        )


def main() -> None:
    cli(prog_name="hostmgr")
