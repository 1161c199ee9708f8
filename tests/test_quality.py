"""Checks on the code itself: types, lint, and migrations that match the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from hostmgr.db import tortoise_config

ROOT = Path(__file__).parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_mypy_strict_passes_on_hostmgr():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout


def test_ruff_passes():
    result = _run("ruff", "check", "hostmgr", "plugins", "tests", "bench")
    assert result.returncode == 0, result.stdout
    result = _run("ruff", "format", "--check", "hostmgr", "plugins", "tests", "bench")
    assert result.returncode == 0, result.stdout


async def test_migrations_match_the_models(tmp_path):
    config = tortoise_config(f"sqlite://{tmp_path / 'x.sqlite3'}")
    async with tortoise_cli_context(config) as ctx:
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert writers == [], "models changed: run tortoise makemigrations"


def test_model_docstrings_have_no_semicolons():
    # Tortoise's SQLite schema editor splits statements on ';', and model
    # docstrings become table comments.
    from hostmgr import models

    for model in (
        models.User,
        models.ApiToken,
        models.Package,
        models.Instance,
        models.AuditEntry,
        models.SsoRedemption,
        models.PanelSession,
    ):
        assert ";" not in (model.__doc__ or ""), model.__name__
