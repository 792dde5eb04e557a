"""Settings read from ``MAILGRIP_*`` environment variables.

Every setting is listed in ``SETTINGS`` with its type, default and meaning.
``docs/configuration.md`` is generated from that table by ``mailgrip config-docs``, and a test
fails when the two differ.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A setting is missing or has a value that cannot be used."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false.")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number.") from None


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number.") from None


def _parse_str(name: str, raw: str) -> str:
    return raw.strip()


@dataclass(frozen=True)
class Setting:
    """One ``MAILGRIP_*`` variable: its attribute name, parser, default and meaning."""

    attribute: str
    parse: Callable[[str, str], Any]
    default: Any
    help: str
    secret: bool = False
    # A secret, or a value too long for an environment variable, may come from a file named by
    # ``<variable>_FILE``, so that it never appears in the process environment.
    file_allowed: bool = False

    @property
    def from_file(self) -> bool:
        return self.secret or self.file_allowed

    @property
    def variable(self) -> str:
        return "MAILGRIP_" + self.attribute.upper()


# A default of None is filled in by ``Settings.from_env`` from the instance folder or another
# setting.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "env",
        _parse_str,
        "development",
        "`development` or `production`. Production refuses to start without its secrets.",
    ),
    Setting(
        "secret_key",
        _parse_str,
        None,
        "Key that signs portal sessions and CSRF tokens. Development keeps a random one in "
        "`instance/secret_key`; production requires it.",
        secret=True,
    ),
    Setting(
        "database_url",
        _parse_str,
        None,
        "SQLAlchemy URL. Default: SQLite file `instance/mailgrip.sqlite3`. It may contain the "
        "database password.",
        secret=True,
    ),
    Setting(
        "storage_dir",
        _parse_str,
        None,
        "Folder for uploaded file bytes. Default: `instance/files`.",
    ),
    Setting(
        "max_upload_bytes",
        _parse_int,
        100 * 1024 * 1024,
        "Largest upload request accepted by `POST /api/shares`, in bytes; larger ones get 413.",
    ),
    Setting(
        "public_url",
        _parse_str,
        "http://127.0.0.1:5000",
        "Base URL that recipients reach; share links and the tracking image are built on it.",
    ),
    Setting(
        "authority",
        _parse_str,
        "https://login.microsoftonline.com",
        "Identity platform host. The emulator's URL in the demo and tests.",
    ),
    Setting(
        "tenant_id",
        _parse_str,
        "",
        "Directory (tenant) id of the organisation whose mail is mirrored.",
    ),
    Setting("client_id", _parse_str, "", "Application (client) id of Mailgrip's app registration."),
    Setting(
        "client_secret",
        _parse_str,
        "",
        "Client secret of the app registration, for Graph tokens. Leave it empty when the app "
        "authenticates with a certificate.",
        secret=True,
    ),
    Setting(
        "client_certificate_key",
        _parse_str,
        "",
        "PEM private key of the certificate that the app registration authenticates with, "
        "instead of the client secret.",
        secret=True,
    ),
    Setting(
        "client_certificate",
        _parse_str,
        "",
        "PEM certificate that belongs to `MAILGRIP_CLIENT_CERTIFICATE_KEY`; its SHA-1 thumbprint "
        "names the key to the identity platform.",
        file_allowed=True,
    ),
    Setting(
        "client_certificate_thumbprint",
        _parse_str,
        "",
        "SHA-1 thumbprint (hex) of the certificate, as the app registration lists it. Default: "
        "computed from `MAILGRIP_CLIENT_CERTIFICATE`.",
    ),
    Setting(
        "allowed_tenants",
        _parse_str,
        "",
        "Comma-separated tenant ids whose users may call the API. Default: only "
        "`MAILGRIP_TENANT_ID`.",
    ),
    Setting(
        "api_audience",
        _parse_str,
        "",
        "Audience that API bearer tokens must carry. Default: the client id.",
    ),
    Setting(
        "api_app_id_uri",
        _parse_str,
        "",
        "Application ID URI of the API, also accepted as the audience. Default: "
        "`api://<MAILGRIP_API_AUDIENCE>`.",
    ),
    Setting(
        "api_scope",
        _parse_str,
        "access_as_user",
        "Delegated scope (`scp`) that API bearer tokens must contain.",
    ),
    Setting(
        "instance_discovery",
        _parse_bool,
        True,
        "Let msal validate the authority host with Microsoft. Off for the emulator.",
    ),
    Setting(
        "graph_url",
        _parse_str,
        "https://graph.microsoft.com/v1.0",
        "Microsoft Graph base URL including the version.",
    ),
    Setting(
        "graph_scope",
        _parse_str,
        "https://graph.microsoft.com/.default",
        "Scope requested for app-only Graph tokens.",
    ),
    Setting(
        "graph_delegated_scopes",
        _parse_str,
        "https://graph.microsoft.com/Mail.Read.Shared",
        "Space-separated Graph scopes requested on behalf of a user; Mail.Read.Shared lets "
        "Mailgrip ask Graph which shared mailboxes the user may open.",
    ),
    Setting(
        "ca_bundle",
        _parse_str,
        "",
        "PEM file of extra trusted CAs for outgoing HTTPS (the emulator's CA in the demo).",
    ),
    Setting("http_timeout", _parse_float, 10.0, "Timeout of every outgoing HTTP call, in seconds."),
    Setting(
        "sync_interval",
        _parse_float,
        10.0,
        "Seconds between Sent Items syncs of the in-process worker (`mailgrip demo`).",
    ),
    Setting(
        "share_lifetime_days",
        _parse_int,
        30,
        "Days after creation that a share's link stops working.",
    ),
    Setting(
        "code_lifetime_minutes", _parse_int, 10, "Minutes a one-time verification code stays valid."
    ),
    Setting(
        "addin_id",
        _parse_str,
        "8b4fd0f6-0c0b-4b36-9a55-1f2b3c4d5e6f",
        "Id of the Outlook add-in in its manifest; it names the custom-property container.",
    ),
    Setting(
        "admin_role",
        _parse_str,
        "Mailgrip.Admin",
        "App role (`roles` claim) that gives access to the admin page under `/admin/`.",
    ),
    Setting(
        "mailbox_access_cache_seconds",
        _parse_float,
        300.0,
        "Seconds that Graph's answer on whether a user may open a shared mailbox is reused.",
    ),
    Setting(
        "demo_signin",
        _parse_bool,
        False,
        "Offer a username and password sign-in in the task pane for a plain browser (demo only).",
    ),
    Setting(
        "demo_client_id",
        _parse_str,
        "",
        "Public client id used by the demo sign-in. Default: the client id.",
    ),
    Setting(
        "taskpane_dir",
        _parse_str,
        "",
        "Folder with the task pane's `templates/` and `static/`, read when the process starts. "
        "Default: `taskpane/` of the source tree.",
    ),
    Setting("log_level", _parse_str, "INFO", "Root log level."),
)


@dataclass(frozen=True)
class Settings:
    """Typed, validated settings of one Mailgrip process."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def from_env(
        cls, instance_path: str | os.PathLike[str], environ: dict[str, str] | None = None
    ) -> Settings:
        """Read every setting from ``environ`` (default ``os.environ``) and fill in defaults.

        :raise ConfigError: a value does not parse, or production lacks a secret.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = _raw_value(setting, environ)
            values[setting.attribute] = (
                setting.default if raw is None else setting.parse(setting.variable, raw)
            )

        instance = Path(instance_path)
        if values["env"] not in {"development", "production"}:
            raise ConfigError(
                f"MAILGRIP_ENV={values['env']!r} is not valid; use development or production."
            )
        if values["env"] == "production":
            _check_production(values, environ)
        if not values["secret_key"]:
            values["secret_key"] = _read_or_create_secret(instance / "secret_key")
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{instance / 'mailgrip.sqlite3'}"
        if not values["storage_dir"]:
            values["storage_dir"] = str(instance / "files")
        if not values["api_audience"]:
            values["api_audience"] = values["client_id"]
        if not values["api_app_id_uri"]:
            values["api_app_id_uri"] = f"api://{values['api_audience']}"
        values["allowed_tenants"] = _tenant_list(values["allowed_tenants"], values["tenant_id"])
        if values["client_certificate"] and not values["client_certificate_thumbprint"]:
            values["client_certificate_thumbprint"] = _thumbprint(values["client_certificate"])
        if not values["demo_client_id"]:
            values["demo_client_id"] = values["client_id"]
        values["public_url"] = values["public_url"].rstrip("/")
        values["graph_url"] = values["graph_url"].rstrip("/")
        values["authority"] = values["authority"].rstrip("/")
        return cls(values)

    @property
    def uses_client_certificate(self) -> bool:
        """Whether Graph tokens are requested with a certificate rather than a secret."""
        return bool(self.client_certificate_key)

    @property
    def requests_verify(self) -> bool | str:
        """The ``verify`` argument for requests: the CA bundle when one is set."""
        return self.ca_bundle or True


def settings_markdown() -> str:
    """Render the settings table as Markdown for ``docs/configuration.md``."""
    lines = [
        "# Configuration",
        "",
        "Mailgrip reads its settings from environment variables. This page is generated by",
        "`mailgrip config-docs` from the table in `server/mailgrip/config.py`; edit that table.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for setting in SETTINGS:
        default = "(derived)" if setting.default is None else f"`{setting.default}`"
        if setting.secret:
            default += " (secret)"
        if setting.from_file:
            default += f" (or `{setting.variable}_FILE`)"
        lines.append(f"| `{setting.variable}` | {default} | {setting.help} |")
    return "\n".join(lines) + "\n"


# A secret key shorter than this is guessable enough to forge portal sessions.
MIN_SECRET_KEY_CHARS = 32


def _check_production(values: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Refuse production settings that would start but not work, or not be safe."""
    _require(values, ("secret_key", "database_url", "client_id", "tenant_id"))
    _require_client_credential(values)
    if "MAILGRIP_PUBLIC_URL" not in environ or not values["public_url"].startswith("https://"):
        raise ConfigError(
            "Production needs MAILGRIP_PUBLIC_URL set to the https:// address that recipients "
            "reach; links in sent mail are built on it."
        )
    if len(values["secret_key"]) < MIN_SECRET_KEY_CHARS:
        raise ConfigError(
            f"MAILGRIP_SECRET_KEY is shorter than {MIN_SECRET_KEY_CHARS} characters; generate "
            "one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if values["demo_signin"]:
        raise ConfigError(
            "MAILGRIP_DEMO_SIGNIN=true is for the demo only; production signs users in "
            "through Outlook. Remove the variable."
        )


def _require(values: dict[str, Any], attributes: tuple[str, ...]) -> None:
    by_attribute = {setting.attribute: setting for setting in SETTINGS}
    missing = []
    for name in attributes:
        if values[name]:
            continue
        setting = by_attribute[name]
        file_hint = f" (or {setting.variable}_FILE)" if setting.from_file else ""
        missing.append(setting.variable + file_hint)
    if missing:
        raise ConfigError(
            "Production needs these settings, which are missing: " + ", ".join(missing)
        )


def _require_client_credential(values: dict[str, Any]) -> None:
    """Require a client secret, or a certificate key with its certificate or thumbprint."""
    if values["client_certificate_key"]:
        if not (values["client_certificate_thumbprint"] or values["client_certificate"]):
            raise ConfigError(
                "Production needs MAILGRIP_CLIENT_CERTIFICATE (or its _FILE variant) or "
                "MAILGRIP_CLIENT_CERTIFICATE_THUMBPRINT beside MAILGRIP_CLIENT_CERTIFICATE_KEY, "
                "which are missing."
            )
        return
    if not values["client_secret"]:
        raise ConfigError(
            "Production needs these settings, which are missing: MAILGRIP_CLIENT_SECRET (or "
            "MAILGRIP_CLIENT_SECRET_FILE), or MAILGRIP_CLIENT_CERTIFICATE_KEY (or "
            "MAILGRIP_CLIENT_CERTIFICATE_KEY_FILE) with its certificate."
        )


def _raw_value(setting: Setting, environ: Mapping[str, str]) -> str | None:
    """Return a setting's text from its variable or from the file that ``<variable>_FILE`` names.

    :raise ConfigError: both are set, or the file cannot be read.
    """
    raw = environ.get(setting.variable)
    file_variable = f"{setting.variable}_FILE"
    path = environ.get(file_variable) if setting.from_file else None
    if path is None:
        return raw
    if raw is not None:
        raise ConfigError(
            f"Both {setting.variable} and {file_variable} are set; remove one of them."
        )
    try:
        # Files written by editors and secret stores often end with a newline.
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"{file_variable}={path!r} cannot be read ({error}); point it at a readable UTF-8 file."
        ) from None


def _tenant_list(raw: str, tenant_id: str) -> tuple[str, ...]:
    tenants = [tenant.strip().lower() for tenant in raw.split(",") if tenant.strip()]
    if not tenants and tenant_id:
        tenants = [tenant_id.lower()]
    return tuple(dict.fromkeys(tenants))


def _thumbprint(certificate_pem: str) -> str:
    """Return the SHA-1 thumbprint (hex) of a PEM certificate, as Entra ID shows it.

    :raise ConfigError: the text is not a PEM certificate.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError:
        raise ConfigError(
            "MAILGRIP_CLIENT_CERTIFICATE is not a PEM certificate; give the text that starts "
            "with -----BEGIN CERTIFICATE-----."
        ) from None
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 (Entra ID thumbprints are SHA-1)


def _read_or_create_secret(path: Path) -> str:
    """Keep one random development secret per instance folder, readable only by its owner."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
