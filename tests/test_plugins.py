"""Plugins: entry-point discovery, awaited hooks and the hookspec module."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hostmgr import hookspecs
from hostmgr.app import create_app
from hostmgr.models import Role
from hostmgr.plugins import create_plugin_manager, describe_plugins
from tests.conftest import bearer, make_token, make_user, started

PLUGIN_SOURCE = '''
"""A third-party plugin, installed the way any other would be."""
from sanic import json

from hostmgr.hookspecs import hookimpl

EVENTS = []
STARTED = []


@hookimpl
def hostmgr_register_routes(app):
    @app.get("/sample-plugin")
    async def hello(request):
        return json({"hello": "from a plugin", "started": len(STARTED)})


@hookimpl
async def hostmgr_startup(app, settings):
    STARTED.append(settings.base_domain)


@hookimpl
async def hostmgr_event(event):
    EVENTS.append((event.name, event.subject))
'''


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install a sample plugin into its own directory with pip."""
    source = tmp_path_factory.mktemp("src")
    (source / "hostmgr_sample_plugin.py").write_text(PLUGIN_SOURCE)
    (source / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "hostmgr-sample-plugin"
        version = "1.2.3"

        [project.entry-points.hostmgr]
        sample = "hostmgr_sample_plugin"

        [tool.setuptools]
        py-modules = ["hostmgr_sample_plugin"]
    """)
    )
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )
    return target


@pytest.fixture
def plugin_on_path(installed_plugin: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(installed_plugin))
    yield installed_plugin
    sys.modules.pop("hostmgr_sample_plugin", None)


async def test_entry_point_plugin_is_discovered_and_called(plugin_on_path, settings):
    pm = create_plugin_manager()
    assert pm.has_plugin("sample")
    rows = {row["name"]: row for row in describe_plugins(pm)}
    assert rows["sample"]["distribution"] == "hostmgr-sample-plugin"
    assert rows["sample"]["version"] == "1.2.3"

    sample = sys.modules["hostmgr_sample_plugin"]
    app = create_app(settings, pm, manage_db=False, name="with_plugin")
    async with started(app) as client:
        _, response = await client.get("/sample-plugin")
        assert response.json == {"hello": "from a plugin", "started": 1}

        admin = await make_user(Role.ADMIN)
        body = {"name": "Pat", "email": "pat@example.com", "password": "pat-secret-99"}
        _, response = await client.post(
            "/api/integration/users", json=body, headers=bearer(await make_token(admin))
        )
        assert response.status == 201
    assert sample.EVENTS == [("user.created", "pat")]


def test_cli_lists_installed_plugin_with_version(plugin_on_path, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(plugin_on_path),
        "HOSTMGR_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "hostmgr", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sample  hostmgr-sample-plugin 1.2.3" in result.stdout
    assert "hostmgr.default_auth  hostmgr" in result.stdout


async def test_failing_event_subscriber_does_not_stop_the_action(settings, caplog):
    from hostmgr.hookspecs import hookimpl

    class Broken:
        @hookimpl
        async def hostmgr_event(self, event):
            raise RuntimeError("subscriber down")

    class Recorder:
        seen: list[str] = []

        @hookimpl
        def hostmgr_event(self, event):
            self.seen.append(event.name)

    recorder = Recorder()
    pm = create_plugin_manager(load_entry_points=False, extra=[Broken(), recorder])
    app = create_app(settings, pm, manage_db=False, name="broken_subscriber")
    admin = await make_user(Role.ADMIN)
    async with started(app) as client:
        body = {"name": "Pat", "email": "pat@example.com", "password": "pat-secret-99"}
        _, response = await client.post(
            "/api/integration/users", json=body, headers=bearer(await make_token(admin))
        )
    assert response.status == 201
    assert recorder.seen == ["user.created"]
    assert "subscriber down" in caplog.text


def _hookspecs():
    return [
        (name, func)
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, "hostmgr_spec")
    ]


def test_every_hook_is_prefixed_and_documented():
    specs = _hookspecs()
    assert len(specs) >= 7
    for name, func in specs:
        assert name.startswith("hostmgr_"), name
        doc = inspect.getdoc(func) or ""
        assert doc.split("\n")[0].endswith("."), name
        for parameter in inspect.signature(func).parameters:
            assert f":param {parameter}:" in doc, (name, parameter)
        if func.hostmgr_spec.get("firstresult"):
            assert "Stops at the first non-None result" in doc, name
