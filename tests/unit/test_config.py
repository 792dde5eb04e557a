"""Settings parsing from MAILGRIP_* variables."""

import pytest
from certificates import make_certificate

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
        ("MAILGRIP_DRAFT_RETENTION_DAYS", "0", "MAILGRIP_DRAFT_RETENTION_DAYS=0.0 is invalid"),
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


SECRET_SETTINGS = [setting for setting in SETTINGS if setting.secret]


def test_secret_settings_listed():
    assert {setting.variable for setting in SECRET_SETTINGS} == {
        "MAILGRIP_SECRET_KEY",
        "MAILGRIP_DATABASE_URL",
        "MAILGRIP_CLIENT_SECRET",
        "MAILGRIP_CLIENT_CERTIFICATE_KEY",
        "MAILGRIP_SMTP_PASSWORD",
        "MAILGRIP_REDIS_URL",
    }


def _secret_sample(setting) -> str:
    """Return a valid value for a secret setting; a Redis URL carries its password."""
    if setting.variable == "MAILGRIP_REDIS_URL":
        return "redis://:value-from-a-file@127.0.0.1:6379/0"
    return "value-from-a-file-" + "x" * 40


@pytest.mark.parametrize("setting", SECRET_SETTINGS, ids=lambda setting: setting.variable)
def test_secret_read_from_file(tmp_path, setting):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(_secret_sample(setting) + "\n")

    settings = Settings.from_env(tmp_path, {f"{setting.variable}_FILE": str(secret_file)})

    assert getattr(settings, setting.attribute) == _secret_sample(setting)


@pytest.mark.parametrize("setting", SECRET_SETTINGS, ids=lambda setting: setting.variable)
def test_secret_and_file_together_rejected(tmp_path, setting):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("one")

    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            tmp_path,
            {setting.variable: "two", f"{setting.variable}_FILE": str(secret_file)},
        )

    assert f"Both {setting.variable} and {setting.variable}_FILE are set" in str(raised.value)


def test_unreadable_secret_file_named(tmp_path):
    missing = tmp_path / "no-such-file"

    with pytest.raises(ConfigError) as raised:
        Settings.from_env(tmp_path, {"MAILGRIP_CLIENT_SECRET_FILE": str(missing)})

    assert f"MAILGRIP_CLIENT_SECRET_FILE={str(missing)!r} cannot be read" in str(raised.value)


def test_non_secret_setting_has_no_file_variant(tmp_path):
    path_file = tmp_path / "url.txt"
    path_file.write_text("https://elsewhere.example")

    settings = Settings.from_env(tmp_path, {"MAILGRIP_PUBLIC_URL_FILE": str(path_file)})

    assert settings.public_url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("removed", "fragment"),
    [
        ("MAILGRIP_SECRET_KEY", "MAILGRIP_SECRET_KEY (or MAILGRIP_SECRET_KEY_FILE)"),
        ("MAILGRIP_DATABASE_URL", "MAILGRIP_DATABASE_URL (or MAILGRIP_DATABASE_URL_FILE)"),
        ("MAILGRIP_CLIENT_ID", "MAILGRIP_CLIENT_ID"),
        ("MAILGRIP_TENANT_ID", "MAILGRIP_TENANT_ID"),
        ("MAILGRIP_CLIENT_SECRET", "MAILGRIP_CLIENT_SECRET (or MAILGRIP_CLIENT_SECRET_FILE)"),
    ],
)
def test_production_names_each_missing_setting(tmp_path, removed, fragment):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(tmp_path, _production(**{removed: ""}))

    assert fragment in str(raised.value)


def test_production_accepts_secret_from_file(tmp_path):
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("s3cret\n")
    environ = _production(MAILGRIP_CLIENT_SECRET="")
    environ["MAILGRIP_CLIENT_SECRET_FILE"] = str(secret_file)

    assert Settings.from_env(tmp_path, environ).client_secret == "s3cret"


def test_production_accepts_certificate_instead_of_secret(tmp_path):
    key_pem, certificate_pem = make_certificate()
    (tmp_path / "key.pem").write_text(key_pem)
    (tmp_path / "cert.pem").write_text(certificate_pem)
    environ = _production(MAILGRIP_CLIENT_SECRET="")
    environ["MAILGRIP_CLIENT_CERTIFICATE_KEY_FILE"] = str(tmp_path / "key.pem")
    environ["MAILGRIP_CLIENT_CERTIFICATE_FILE"] = str(tmp_path / "cert.pem")

    settings = Settings.from_env(tmp_path, environ)

    assert settings.uses_client_certificate
    assert len(settings.client_certificate_thumbprint) == 40


def test_production_certificate_key_needs_certificate(tmp_path):
    key_pem, _ = make_certificate()
    environ = _production(MAILGRIP_CLIENT_SECRET="", MAILGRIP_CLIENT_CERTIFICATE_KEY=key_pem)

    with pytest.raises(ConfigError) as raised:
        Settings.from_env(tmp_path, environ)

    assert "MAILGRIP_CLIENT_CERTIFICATE_THUMBPRINT" in str(raised.value)


def test_invalid_certificate_named(tmp_path):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(tmp_path, {"MAILGRIP_CLIENT_CERTIFICATE": "not a certificate"})

    assert "MAILGRIP_CLIENT_CERTIFICATE is not a PEM certificate" in str(raised.value)


def test_allowed_tenants_default_to_tenant(tmp_path):
    settings = Settings.from_env(tmp_path, {"MAILGRIP_TENANT_ID": "ABC"})

    assert settings.allowed_tenants == ("abc",)


def test_allowed_tenants_listed(tmp_path):
    settings = Settings.from_env(
        tmp_path, {"MAILGRIP_TENANT_ID": "a", "MAILGRIP_ALLOWED_TENANTS": "b, c,,b"}
    )

    assert settings.allowed_tenants == ("b", "c")
