"""The database connection and its schema migrations."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.fields import DatetimeField
from tortoise.migrations.executor import MigrationExecutor
from tortoise.models import Model

from hostmgr.errors import SchemaError

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)

APP_LABEL = "hostmgr"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config for ``database_url``, with our models and migrations."""
    if database_url.startswith("sqlite://"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(
            parents=True, exist_ok=True
        )
    return {
        "connections": {"default": database_url},
        "apps": {
            APP_LABEL: {
                "models": ["hostmgr.models"],
                "migrations": "hostmgr.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def connect(database_url: str) -> None:
    """Open the connection pool, visible to every task of this process."""
    await Tortoise.init(
        config=tortoise_config(database_url), _enable_global_fallback=True
    )


async def close() -> None:
    await Tortoise.close_connections()


def joined_columns(model: type[Model], alias: str) -> str:
    """``alias."col" AS "alias__col"`` for every column of ``model``."""
    return ", ".join(
        f'{alias}."{column}" AS "{alias}__{column}"' for column in model._meta.db_fields
    )


def build(model: type[M], row: Mapping[str, Any], alias: str) -> M:
    """The ``alias`` part of a joined row, as a saved model instance."""
    prefix = f"{alias}__"
    fields = {k.removeprefix(prefix): v for k, v in row.items() if k.startswith(prefix)}
    # SQLite hands datetimes back as ISO text. The standard library parses that
    # ten times faster than the ORM's own parser, which the hot paths feel.
    for column in _datetime_columns(model):
        value = fields.get(column)
        if isinstance(value, str):
            fields[column] = datetime.fromisoformat(value)
    return model._init_from_db(**fields)


@functools.cache
def _datetime_columns(model: type[Model]) -> tuple[str, ...]:
    return tuple(
        field.source_field or name
        for name, field in model._meta.fields_map.items()
        if isinstance(field, DatetimeField)
    )


async def fetch_one(sql: str, *params: Any) -> dict[str, Any] | None:
    """One row of hand-written SQL with ``?`` placeholders, on either database.

    For the few hot lookups where building the query with the ORM costs more than
    running it.
    """
    connection = get_connection("default")
    if connection.capabilities.dialect == "postgres":
        parts = sql.split("?")
        sql = "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]
    rows = await connection.execute_query_dict(sql, list(params))
    return dict(rows[0]) if rows else None


def _executor() -> MigrationExecutor:
    apps = tortoise_config("sqlite://:memory:")["apps"]
    return MigrationExecutor(get_connection("default"), apps)


async def pending_migrations() -> list[str]:
    """Names of the migrations not yet applied to the connected database."""
    steps = await _executor().plan()
    return [step.migration.name for step in steps if not step.backward]


async def migrate() -> list[str]:
    """Apply every pending migration; return the names applied."""
    pending = await pending_migrations()
    if pending:
        await _executor().migrate()
        logger.info("applied migrations: %s", ", ".join(pending))
    return pending


async def check_schema() -> None:
    """Raise SchemaError unless the schema is up to date."""
    pending = await pending_migrations()
    if pending:
        raise SchemaError(
            f"the database schema is behind ({len(pending)} migrations pending: "
            f"{', '.join(pending)}); run 'hostmgr init'"
        )
