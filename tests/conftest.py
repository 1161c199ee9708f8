"""Fixtures: a fresh database per test on SQLite and PostgreSQL, an app, a client.

Every test that asks for ``db`` runs twice, once per database. PostgreSQL is the
local server (``HOSTMGR_TEST_POSTGRES_URL``, default the trust-auth loopback
server); its absence is a failure, not a skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher
from hostmgr_runtime_podman.service import write_containers_conf
from sanic import Sanic
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from hostmgr import caches, security
from hostmgr import db as hostmgr_db
from hostmgr.app import create_app
from hostmgr.config import Settings, load_settings
from hostmgr.models import ApiToken, Instance, Package, Role, User
from hostmgr.plugins import create_plugin_manager
from hostmgr.security import digest, display_prefix, new_token
from hostmgr.services import accounts
from hostmgr.services.instances import container_name, volume_name
from tests import standin
from tests.client import AppClient

POSTGRES_ADMIN_URL = os.environ.get(
    "HOSTMGR_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"

Sanic.test_mode = True


@pytest.fixture(autouse=True)
def no_cached_rows() -> None:
    """Tests change tokens, accounts and instances straight in the database."""
    caches.tokens.forget()
    caches.instances.forget()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its production cost makes every user a tenth of a second."""
    monkeypatch.setattr(
        security,
        "_hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


async def _migrate(url: str) -> None:
    await hostmgr_db.connect(url)
    try:
        await hostmgr_db.migrate()
    finally:
        await hostmgr_db.close()


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def _admin_execute(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(_migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    name = f"hostmgr_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    url = _postgres_url(name)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "hostmgr.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite://{path}"
    url: str = request.getfixturevalue("postgres_database")
    return url


async def _truncate_postgres() -> None:
    conn = Tortoise.get_connection("default")
    _, rows = await conn.execute_query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    tables = ", ".join(
        f'"{row["tablename"]}"' for row in rows if "migration" not in row["tablename"]
    )
    await conn.execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """An open, migrated, empty database; yields its URL."""
    # Tortoise caches compiled statements by connection name and table, not by
    # dialect; tests switch dialect in one process, so start each one clean.
    EXECUTOR_CACHE.clear()
    await hostmgr_db.connect(database_url)
    if not database_url.startswith("sqlite://"):
        await _truncate_postgres()
    yield database_url
    await hostmgr_db.close()


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    environ = {
        "HOSTMGR_DATA_DIR": str(data_dir),
        "HOSTMGR_DATABASE_URL": database_url,
        "HOSTMGR_SECRET_KEY": TEST_SECRET,
        "HOSTMGR_PUBLIC_URL": "http://panel.test",
        "HOSTMGR_BASE_DOMAIN": "hosted.test",
    }
    environ.update({f"HOSTMGR_{k.upper()}": str(v) for k, v in overrides.items()})
    return load_settings(None, environ)


@pytest.fixture
def settings(tmp_path: Path, db: str) -> Settings:
    return make_settings(tmp_path, db)


@pytest.fixture
def app(settings: Settings) -> Sanic:
    return create_app(
        settings,
        create_plugin_manager(),
        manage_db=False,
        name=f"hostmgr_{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
async def client(app: Sanic) -> AsyncIterator[AppClient]:
    async with started(app) as client:
        yield client


@contextlib.asynccontextmanager
async def started(app: Sanic) -> AsyncIterator[AppClient]:
    client = AppClient(app)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def make_user(
    role: Role = Role.USER,
    *,
    email: str | None = None,
    reseller: User | None = None,
    suspended: bool = False,
) -> User:
    suffix = uuid.uuid4().hex[:8]
    user = await accounts.create_user(
        name=f"{role.value.title()} {suffix}",
        email=email or f"{role.value}-{suffix}@example.com",
        password=PASSWORD,
        role=role,
        reseller=reseller,
    )
    if suspended:
        await accounts.set_suspended(user, True)
    return user


async def make_token(
    user: User,
    *,
    allowed_ips: list[str] | None = None,
    expires_at: datetime | None = None,
) -> str:
    secret = new_token()
    await ApiToken.create(
        user=user,
        name="test",
        token_hash=digest(secret),
        prefix=display_prefix(secret),
        allowed_ips=allowed_ips or [],
        expires_at=expires_at,
    )
    return secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin(db: str) -> User:
    return await make_user(Role.ADMIN, email="admin@example.com")


@pytest.fixture
async def admin_headers(admin: User) -> dict[str, str]:
    return bearer(await make_token(admin))


@pytest.fixture
async def reseller(db: str) -> User:
    return await make_user(Role.RESELLER)


@pytest.fixture
async def reseller_headers(reseller: User) -> dict[str, str]:
    return bearer(await make_token(reseller))


@pytest.fixture
async def starter(db: str) -> Package:
    return await Package.create(name="Starter", cpu_cores=1, ram_gb=1, disk_gb=10)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, for commands that run migrations."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    name = f"hostmgr_empty_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    yield _postgres_url(name)
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- container engines ------------------------------------------------------------


@pytest.fixture(scope="session")
def podman_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("podman")
    write_containers_conf(state / "containers.conf")
    return state


@pytest.fixture(scope="session")
def standin_image(tmp_path_factory: pytest.TempPathFactory, podman_state: Path) -> str:
    workdir = tmp_path_factory.mktemp("image")
    standin.build("docker", workdir)
    standin.build(
        "podman", workdir, {"CONTAINERS_CONF": str(podman_state / "containers.conf")}
    )
    return standin.IMAGE


@pytest.fixture(scope="session")
def podman_url(podman_state: Path) -> Iterator[str]:
    """One Podman API service for the API tests (the runtime suite runs its own)."""
    socket_path = podman_state / "api-tests.sock"
    process = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
        env={**os.environ, "CONTAINERS_CONF": str(podman_state / "containers.conf")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        if socket_path.exists():
            break
        time.sleep(0.05)
    yield f"unix://{socket_path}"
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(params=["docker", "podman"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def engine_app(
    tmp_path: Path,
    db: str,
    engine: str,
    standin_image: str,
    podman_url: str,
) -> AsyncIterator[AppClient]:
    """A started app on a real engine with the stand-in image; cleans up after."""
    settings = make_settings(
        tmp_path, db, runtime=engine, image=standin_image, podman_url=podman_url
    )
    async with app_on_engine(settings) as client:
        yield client


@contextlib.asynccontextmanager
async def app_on_engine(settings: Settings) -> AsyncIterator[AppClient]:
    """A started app; removes every instance's container and volume after."""
    app = create_app(
        settings,
        create_plugin_manager(),
        manage_db=False,
        name=f"hostmgr_{uuid.uuid4().hex[:8]}",
    )
    async with started(app) as client:
        yield client
        for instance in await Instance.all():
            await app.ctx.runtime.remove(
                container_name(instance), volume_name(instance)
            )
