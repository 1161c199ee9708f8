"""Settings: file, environment overrides, validation and the generated secret."""

from __future__ import annotations

import stat

import pytest

from hostmgr.config import config_keys, load_settings
from hostmgr.errors import ConfigError


def _env(tmp_path, **values):
    return {"HOSTMGR_DATA_DIR": str(tmp_path), **values}


def test_defaults(tmp_path):
    settings = load_settings(None, _env(tmp_path))
    assert settings.port == 8448
    assert settings.host == "127.0.0.1"
    assert settings.database_url == f"sqlite://{tmp_path}/hostmgr.sqlite3"
    assert settings.rate_limit == 60
    assert settings.public_url == "http://127.0.0.1:8448"
    assert settings.runtime == "docker"


def test_file_then_environment(tmp_path):
    path = tmp_path / "hostmgr.toml"
    path.write_text(
        'port = 9000\nbase_domain = "apps.example.com"\nrate_limit = 10\n'
        '[plugins.sample]\ncolour = "blue"\n'
    )
    settings = load_settings(path, _env(tmp_path, HOSTMGR_PORT="9100"))
    assert settings.port == 9100
    assert settings.base_domain == "apps.example.com"
    assert settings.rate_limit == 10
    assert settings.plugin_settings("sample") == {"colour": "blue"}
    assert settings.plugin_settings("absent") == {}


def test_config_path_from_environment(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text('runtime = "podman"\n')
    settings = load_settings(None, _env(tmp_path, HOSTMGR_CONFIG=str(path)))
    assert settings.runtime == "podman"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HOSTMGR_PORT", "eighty"),
        ("HOSTMGR_PORT", "70000"),
        ("HOSTMGR_RATE_LIMIT", "0"),
        ("HOSTMGR_RUNTIME", "lxc"),
        ("HOSTMGR_DATABASE_URL", "mysql://x"),
        ("HOSTMGR_PUBLIC_URL", "ftp://panel"),
        ("HOSTMGR_BASE_DOMAIN", "not a domain"),
        ("HOSTMGR_SECRET_KEY", "short"),
        ("HOSTMGR_RATE_LIMIT_STORAGE", "memcached://x"),
    ],
)
def test_bad_values_name_the_key(tmp_path, key, value):
    with pytest.raises(ConfigError) as info:
        load_settings(None, _env(tmp_path, **{key: value}))
    name = key.removeprefix("HOSTMGR_").lower()
    assert info.value.key == name
    assert str(info.value).startswith(f"config {name}:")
    assert "\n" not in str(info.value)


def test_unknown_file_key_is_refused(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot: unknown key"):
        load_settings(path, _env(tmp_path))


def test_broken_toml_is_one_line(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text("port = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, _env(tmp_path))


def test_secret_is_generated_once_and_kept_private(tmp_path):
    first = load_settings(None, _env(tmp_path))
    second = load_settings(None, _env(tmp_path))
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600


def test_given_secret_is_used_and_nothing_written(tmp_path):
    settings = load_settings(None, _env(tmp_path, HOSTMGR_SECRET_KEY="k" * 40))
    assert settings.secret_key == "k" * 40
    assert not (tmp_path / "secret.key").exists()


def test_every_key_has_an_environment_name_in_the_example(tmp_path):
    from pathlib import Path

    example = (
        Path(__file__).parents[1] / "config" / "hostmgr.example.toml"
    ).read_text()
    for key in config_keys():
        assert f"HOSTMGR_{key.upper()}" in example, key
    # The example itself loads.
    path = tmp_path / "example.toml"
    path.write_text(example)
    load_settings(path, _env(tmp_path))
