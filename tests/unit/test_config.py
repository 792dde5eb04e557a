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
        ("MAILGRIP_WORKER_THREADS", "0", "MAILGRIP_WORKER_THREADS=0 is invalid"),
        (
            "MAILGRIP_SUBSCRIPTION_LIFETIME_MINUTES",
            "1",
            "MAILGRIP_SUBSCRIPTION_LIFETIME_MINUTES=1 is invalid",
        ),
        ("MAILGRIP_DELTA_FALLBACK_MINUTES", "-1", "MAILGRIP_DELTA_FALLBACK_MINUTES=-1.0 is"),
        ("MAILGRIP_REDIS_URL", "127.0.0.1:6379", "MAILGRIP_REDIS_URL is not a Redis URL"),
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


def _production(**overrides: str) -> dict[str, str]:
    values = {
        "MAILGRIP_ENV": "production",
        "MAILGRIP_SECRET_KEY": "k" * 48,
        "MAILGRIP_DATABASE_URL": "postgresql+psycopg://db.example/mailgrip",
        "MAILGRIP_CLIENT_ID": "client",
        "MAILGRIP_CLIENT_SECRET": "secret",
        "MAILGRIP_TENANT_ID": "tenant",
        "MAILGRIP_PUBLIC_URL": "https://mailgrip.example.org",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value}


def test_production_complete_settings_accepted(tmp_path):
    settings = Settings.from_env(tmp_path, _production())
    assert settings.public_url == "https://mailgrip.example.org"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"MAILGRIP_CLIENT_SECRET": ""}, "MAILGRIP_CLIENT_SECRET"),
        ({"MAILGRIP_PUBLIC_URL": ""}, "MAILGRIP_PUBLIC_URL"),
        ({"MAILGRIP_PUBLIC_URL": "http://mailgrip.example.org"}, "https://"),
        ({"MAILGRIP_SECRET_KEY": "short"}, "shorter than 32"),
        ({"MAILGRIP_DEMO_SIGNIN": "true"}, "MAILGRIP_DEMO_SIGNIN"),
    ],
)
def test_production_rejects_unusable_settings(tmp_path, overrides, fragment):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(tmp_path, _production(**overrides))
    assert fragment in str(raised.value)


def test_serve_without_settings_prints_one_line(tmp_path):
    import subprocess
    import sys

    environ = {
        "PATH": "/usr/bin:/bin",
        "MAILGRIP_ENV": "production",
        "MAILGRIP_INSTANCE_PATH": str(tmp_path),
    }
    finished = subprocess.run(
        [sys.executable, "-m", "mailgrip.cli", "serve", "--bind", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert finished.stderr.startswith("Configuration error: Production needs")
    assert "Traceback" not in finished.stderr
