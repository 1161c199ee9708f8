"""The hostmgr command line, run as a real process against both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostmgr import migrations as migration_package

CREATE_STARTER = (
    "package",
    "create",
    "--name",
    "Starter",
    "--cpu",
    "1",
    "--ram",
    "1",
    "--disk",
    "10",
)

CREATE_ADMIN = ("user", "create", "--role", "admin", "--email", "a@example.com")


@pytest.fixture
def hostmgr(tmp_path, empty_database_url):
    env = {
        **os.environ,
        "HOSTMGR_DATA_DIR": str(tmp_path / "data"),
        "HOSTMGR_DATABASE_URL": empty_database_url,
    }
    env.pop("HOSTMGR_CONFIG", None)

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "hostmgr", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_init_is_idempotent(hostmgr):
    count = len(list(Path(migration_package.__file__).parent.glob("0*.py")))
    assert count >= 2
    assert hostmgr("init").stdout.strip() == f"applied {count} migrations"
    assert hostmgr("init").stdout.strip() == "schema up to date"


def test_commands_before_init_say_what_to_do(hostmgr):
    line = _one_error_line(hostmgr("package", "list", ok=False))
    assert "run 'hostmgr init'" in line
    line = _one_error_line(hostmgr("serve", ok=False))
    assert "run 'hostmgr init'" in line


def test_admin_token_and_packages(hostmgr):
    hostmgr("init")
    created = hostmgr(
        "user",
        "create",
        "--role",
        "admin",
        "--email",
        "a@example.com",
        "--name",
        "Admin",
    )
    assert created.stdout.startswith("created admin a00 (id 1)")
    assert "password: " in created.stdout

    token = hostmgr(
        "token",
        "create",
        "--email",
        "A@example.com",
        "--name",
        "whmcs",
        "--allow-ip",
        "203.0.113.0/24",
        "--expires-in",
        "30d",
    )
    assert token.stdout.count("\n") == 1
    assert token.stdout.startswith("hm_") and len(token.stdout.strip()) > 40
    assert token.stderr == ""

    hostmgr(*CREATE_STARTER)
    listing = hostmgr("package", "list").stdout.splitlines()
    assert listing[1].split() == ["1", "Starter", "1", "1", "10", "yes"]


def test_reseller_owned_user(hostmgr):
    hostmgr("init")
    hostmgr(
        "user",
        "create",
        "--role",
        "reseller",
        "--email",
        "r@example.com",
        "--name",
        "R",
        "--username",
        "resell",
        "--password",
        "long-enough",
    )
    result = hostmgr(
        "user",
        "create",
        "--role",
        "user",
        "--email",
        "u@example.com",
        "--name",
        "U",
        "--reseller",
        "resell",
        "--password",
        "long-enough",
    )
    assert "password:" not in result.stdout


ERROR_CASES = [
    (["user", "create", "--role", "admin", "--email", "nope", "--name", "A"], "email"),
    ([*CREATE_ADMIN, "--name", "A", "--password", "short"], "password"),
    (["token", "create", "--email", "ghost@example.com"], "no user"),
    (
        ["token", "create", "--email", "a@example.com", "--allow-ip", "10.0.0.300"],
        "--allow-ip",
    ),
    (
        ["token", "create", "--email", "a@example.com", "--expires-in", "soon"],
        "duration",
    ),
    (list(CREATE_STARTER), "already exists"),
    (
        [
            "package",
            "create",
            "--name",
            "X",
            "--cpu",
            "-1",
            "--ram",
            "1",
            "--disk",
            "10",
        ],
        "--cpu",
    ),
]


def test_errors_are_one_clear_line(hostmgr):
    hostmgr("init")
    hostmgr(*CREATE_ADMIN, "--name", "A")
    hostmgr(*CREATE_STARTER)
    for args, needle in ERROR_CASES:
        result = hostmgr(*args, ok=False)
        assert result.returncode != 0, args
        assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_duplicate_user_is_one_line(hostmgr):
    hostmgr("init")
    args = (*CREATE_ADMIN, "--name", "A")
    hostmgr(*args)
    line = _one_error_line(hostmgr(*args, ok=False))
    assert "email" in line and "taken" in line


def test_bad_config_value_is_one_line_naming_the_key(hostmgr, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("port = 0\n")
    line = _one_error_line(hostmgr("--config", str(config), "init", ok=False))
    assert "port" in line
