"""Settings parsing from MAILGRIP_* variables."""

import pytest

from mailgrip.config import SETTINGS, ConfigError, Settings


def test_defaults_use_instance_folder(tmp_path):
    settings = Settings.from_env(tmp_path, {})
    assert settings.database_url == f"sqlite:///{tmp_path / 'mailgrip.sqlite3'}"
    assert settings.storage_dir == str(tmp_path / "files")
    assert settings.env == "development"


def test_development_secret_is_random_and_kept(tmp_path):
    first = Settings.from_env(tmp_path, {}).secret_key
    second = Settings.from_env(tmp_path, {}).secret_key
    other = Settings.from_env(tmp_path / "other", {}).secret_key
    assert len(first) >= 32
    assert first == second
    assert first != other
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_names_missing_secrets(tmp_path):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(tmp_path, {"MAILGRIP_ENV": "production"})
    message = str(raised.value)
    assert "MAILGRIP_SECRET_KEY" in message
    assert "MAILGRIP_DATABASE_URL" in message
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MAILGRIP_DEMO_SIGNIN", "maybe", "MAILGRIP_DEMO_SIGNIN='maybe' is not a boolean"),
        ("MAILGRIP_MAX_UPLOAD_BYTES", "10MB", "MAILGRIP_MAX_UPLOAD_BYTES='10MB' is not a whole"),
        ("MAILGRIP_HTTP_TIMEOUT", "soon", "MAILGRIP_HTTP_TIMEOUT='soon' is not a number"),
        ("MAILGRIP_ENV", "staging", "MAILGRIP_ENV='staging' is not valid"),
    ],
)
def test_invalid_value_names_variable(tmp_path, variable, value, expected):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(tmp_path, {variable: value})
    assert expected in str(raised.value)


def test_audience_defaults_to_client_id(tmp_path):
    settings = Settings.from_env(tmp_path, {"MAILGRIP_CLIENT_ID": "abc"})
    assert settings.api_audience == "abc"


def test_every_setting_documented():
    for setting in SETTINGS:
        assert setting.help.strip(), setting.variable


def test_configuration_doc_is_current():
    from pathlib import Path

    from mailgrip.config import settings_markdown

    document = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    assert document.read_text() == settings_markdown(), (
        "run: mailgrip config-docs > docs/configuration.md"
    )
