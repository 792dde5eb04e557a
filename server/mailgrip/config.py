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
        "SQLAlchemy URL. Default: SQLite file `instance/mailgrip.sqlite3`.",
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
        "max_files_per_share",
        _parse_int,
        250,
        "Maximum number of uploads, complete or not, in one draft share; more get 409. The "
        "default, 250, is Exchange Online's limit of file attachments per message.",
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
        "Client secret of the app registration, for Graph tokens.",
        secret=True,
    ),
    Setting(
        "api_audience",
        _parse_str,
        "",
        "Audience that API bearer tokens must carry. Default: the client id.",
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
        "send_mode",
        _parse_str,
        "SoftBlock",
        "SendMode of the add-in's OnMessageSend event in a rendered manifest: `PromptUser` (the "
        "user may send anyway), `SoftBlock` (sends when the add-in cannot load) or `Block`.",
    ),
    Setting(
        "outage_policy",
        _parse_str,
        "refuse",
        "What the add-in does at send when Mailgrip cannot be reached or sign-in fails: "
        "`refuse` (the send is blocked, so files never go out as attachments) or "
        "`send_untracked` (the message goes out with its attachments and no tracking).",
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
    Setting(
        "addin_dir",
        _parse_str,
        "",
        "Folder with the add-in's `commands.html`, `src/` and `assets/`, read from the "
        "environment when the process starts. Default: `addin/` of the source tree.",
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
            raw = environ.get(setting.variable)
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
        _check_choice(values, "send_mode", ("PromptUser", "SoftBlock", "Block"))
        _check_choice(values, "outage_policy", ("refuse", "send_untracked"))
        if not values["secret_key"]:
            values["secret_key"] = _read_or_create_secret(instance / "secret_key")
        if not values["database_url"]:
            values["database_url"] = f"sqlite:///{instance / 'mailgrip.sqlite3'}"
        if not values["storage_dir"]:
            values["storage_dir"] = str(instance / "files")
        if not values["api_audience"]:
            values["api_audience"] = values["client_id"]
        if not values["demo_client_id"]:
            values["demo_client_id"] = values["client_id"]
        values["public_url"] = values["public_url"].rstrip("/")
        values["graph_url"] = values["graph_url"].rstrip("/")
        values["authority"] = values["authority"].rstrip("/")
        return cls(values)

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
        lines.append(f"| `{setting.variable}` | {default} | {setting.help} |")
    return "\n".join(lines) + "\n"


def _check_choice(values: dict[str, Any], attribute: str, choices: tuple[str, ...]) -> None:
    if values[attribute] not in choices:
        raise ConfigError(
            f"MAILGRIP_{attribute.upper()}={values[attribute]!r} is not valid; use "
            f"{' or '.join(choices)}."
        )


def setting_default(attribute: str) -> Any:
    """Return the default of one setting, for commands that run without the whole settings."""
    return next(setting.default for setting in SETTINGS if setting.attribute == attribute)


# A secret key shorter than this is guessable enough to forge portal sessions.
MIN_SECRET_KEY_CHARS = 32


def _check_production(values: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Refuse production settings that would start but not work, or not be safe."""
    _require(values, ("secret_key", "database_url", "client_id", "tenant_id", "client_secret"))
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
    missing = [f"MAILGRIP_{name.upper()}" for name in attributes if not values[name]]
    if missing:
        raise ConfigError(
            "Production needs these settings, which are missing: " + ", ".join(missing)
        )


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
