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


def _parse_rate_limit(name: str, raw: str) -> str:
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a rate limit; write it as '5 per minute; 20 per hour'."
        ) from None
    return raw.strip()


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ConfigError(f"{name}={raw!r} is not valid; use one of: {', '.join(allowed)}.")
        return value

    return parse


_parse_distribution_list_policy = _choice("refuse", "domain")
_parse_code_delivery = _choice("graph", "smtp")
_parse_smtp_security = _choice("starttls", "tls", "none")
# ProxyFix's keyword arguments: the X-Forwarded-* headers it can trust.
PROXY_FIX_HEADERS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")


def _parse_proxy_fix(name: str, raw: str) -> dict[str, int]:
    """Parse ``1`` or ``x_for=1,x_proto=1`` into ProxyFix's keyword arguments."""
    text = raw.strip()
    if not text or text == "0":
        return {}
    if text.isdigit():
        # A count trusts only the headers that every proxy sets. X-Forwarded-Host is left
        # out, because a proxy that does not set it passes the client's own value on.
        return {"x_for": int(text), "x_proto": int(text)}
    counts: dict[str, int] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key not in PROXY_FIX_HEADERS or not value.strip().isdigit():
            raise ConfigError(
                f"{name}={raw!r} is not valid; give a count such as 1, or a list such as "
                f"x_for=1,x_proto=1 with keys from {', '.join(PROXY_FIX_HEADERS)}."
            )
        counts[key] = int(value)
    return counts


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
        "redis_url",
        _parse_str,
        "",
        "Redis URL of the job queue and the rate limits, such as `redis://127.0.0.1:6379/0`. "
        "Default: a SQLite queue in `instance/jobs.sqlite3`, which only processes on this "
        "machine can share, and rate limits in each process's memory.",
        secret=True,
    ),
    Setting(
        "queue_name",
        _parse_str,
        "mailgrip",
        "Name of the job queue; web and worker processes of one deployment must use the same.",
    ),
    Setting(
        "worker_threads",
        _parse_int,
        4,
        "Threads of the job consumer (`mailgrip worker`, and inside `mailgrip demo`).",
    ),
    Setting(
        "subscription_lifetime_minutes",
        _parse_int,
        4230,
        "Lifetime requested for each change-notification subscription, in minutes; at most "
        "the maximum that Graph allows for Outlook messages (4230 minutes when documented).",
    ),
    Setting(
        "delta_fallback_minutes",
        _parse_float,
        15.0,
        "Minutes without a change notification or sync after which a mailbox is polled by "
        "delta sync. Mailboxes without a working subscription are polled every minute.",
    ),
    Setting(
        "trace_budget_requests",
        _parse_int,
        100,
        "Message trace requests that all Mailgrip processes together send per tenant in each "
        "window of `MAILGRIP_TRACE_BUDGET_WINDOW_SECONDS`; Microsoft allows 100 per 5 minutes.",
    ),
    Setting(
        "trace_budget_window_seconds",
        _parse_float,
        300.0,
        "Length of the message trace budget's window, in seconds.",
    ),
    Setting(
        "trace_backoff_seconds",
        _parse_float,
        60.0,
        "Seconds before message trace is asked again about a message whose recipients are "
        "not all final; the delay doubles with each attempt.",
    ),
    Setting(
        "trace_backoff_max_seconds",
        _parse_float,
        1800.0,
        "Longest delay between two message trace requests about one message, in seconds.",
    ),
    Setting(
        "trace_max_age_hours",
        _parse_float,
        72.0,
        "Hours after sending that delivery is still traced and delivery reports are still "
        "matched; later, a recipient keeps the state it has.",
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
    Setting(
        "addin_dir",
        _parse_str,
        "",
        "Folder with the add-in's `commands.html`, `src/` and `assets/`, read from the "
        "environment when the process starts. Default: `addin/` of the source tree.",
    ),
    Setting(
        "office_js",
        _parse_str,
        "cdn",
        "Where the task pane loads Office.js from: `cdn` (Microsoft's CDN, which Microsoft "
        "requires of add-ins in AppSource) or `local` (the `@microsoft/office-js` npm package "
        "served by Mailgrip, for offline use and tests).",
    ),
    Setting("log_level", _parse_str, "INFO", "Root log level."),
    Setting(
        "rate_limit_key_prefix",
        _parse_str,
        "mailgrip:limits",
        "Prefix of the rate-limit keys in Redis, so that deployments can share one Redis.",
    ),
    Setting(
        "rate_limit_code_requests",
        _parse_rate_limit,
        "5 per minute; 20 per hour",
        "One-time code requests accepted from one client IP address, in Flask-Limiter's "
        "notation. Every `rate_limit` setting takes one or more limits separated by `;`.",
    ),
    Setting(
        "rate_limit_code_requests_per_address",
        _parse_rate_limit,
        "10 per hour",
        "One-time code requests accepted for one email address, across all shares.",
    ),
    Setting(
        "rate_limit_code_entries",
        _parse_rate_limit,
        "10 per minute; 60 per hour",
        "Code entries accepted from one client IP address.",
    ),
    Setting(
        "rate_limit_code_entries_per_address",
        _parse_rate_limit,
        "30 per hour",
        "Code entries accepted for one email address, across all shares.",
    ),
    Setting(
        "rate_limit_portal",
        _parse_rate_limit,
        "60 per minute; 600 per hour",
        "Portal pages and downloads served to one client IP address.",
    ),
    Setting(
        "rate_limit_tracking_image",
        _parse_rate_limit,
        "120 per minute",
        "Open-tracking image fetches served to one client IP address.",
    ),
    Setting(
        "distribution_list_policy",
        _parse_distribution_list_policy,
        "refuse",
        "Who may verify for a recipient that is a distribution list (delivery state "
        "`expanded`): `refuse` (nobody) or `domain` (any address in the list's domain).",
    ),
    Setting(
        "code_mailbox",
        _parse_str,
        "",
        "Mailbox (user id or address) that sends one-time codes through Graph `sendMail`. "
        "Default: the mailbox of the share's owner.",
    ),
    Setting(
        "code_delivery",
        _parse_code_delivery,
        "graph",
        "How one-time codes are mailed: `graph` (`sendMail`) or `smtp`.",
    ),
    Setting("smtp_host", _parse_str, "", "SMTP server for one-time codes when delivery is `smtp`."),
    Setting("smtp_port", _parse_int, 587, "Port of the SMTP server."),
    Setting(
        "smtp_security",
        _parse_smtp_security,
        "starttls",
        "`starttls` (upgrade with STARTTLS, required), `tls` (TLS from the first byte, "
        "usually port 465) or `none` (plain text, for a relay on the same host only).",
    ),
    Setting("smtp_username", _parse_str, "", "SMTP user name; no authentication when empty."),
    Setting(
        "smtp_password",
        _parse_str,
        "",
        "SMTP password. `MAILGRIP_SMTP_PASSWORD_FILE` may name a file that holds it instead.",
        secret=True,
    ),
    Setting("smtp_from", _parse_str, "", "From address of code mails sent over SMTP."),
    Setting("smtp_timeout", _parse_float, 10.0, "Timeout of each SMTP operation, in seconds."),
    Setting(
        "proxy_fix",
        _parse_proxy_fix,
        "",
        "Reverse proxies whose `X-Forwarded-*` headers are trusted: a count (`1` trusts "
        "`X-Forwarded-For` and `X-Forwarded-Proto` of one proxy) or a list such as "
        "`x_for=1,x_proto=1,x_host=1`. Empty: the headers are ignored.",
    ),
)

OFFICE_JS_SOURCES = ("cdn", "local")


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
        if values["office_js"] not in OFFICE_JS_SOURCES:
            raise ConfigError(
                f"MAILGRIP_OFFICE_JS={values['office_js']!r} is not valid; use cdn or local."
            )
        if values["env"] == "production":
            _check_production(values, environ)
        _check_choice(values, "send_mode", ("PromptUser", "SoftBlock", "Block"))
        _check_choice(values, "outage_policy", ("refuse", "send_untracked"))
        _check_job_settings(values)
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
        _check_smtp(values)
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


def _check_smtp(values: dict[str, Any]) -> None:
    """Refuse SMTP delivery without the server and the sender it needs."""
    if values["code_delivery"] != "smtp":
        return
    missing = [
        f"MAILGRIP_{name.upper()}" for name in ("smtp_host", "smtp_from") if not values[name]
    ]
    if missing:
        raise ConfigError(
            "MAILGRIP_CODE_DELIVERY=smtp needs these settings, which are missing: "
            + ", ".join(missing)
        )
    if values["smtp_password"] and not values["smtp_username"]:
        raise ConfigError("MAILGRIP_SMTP_PASSWORD is set but MAILGRIP_SMTP_USERNAME is empty.")


def _check_job_settings(values: dict[str, Any]) -> None:
    """Reject job settings that would stop the consumer or the subscriptions from working."""
    if values["worker_threads"] < 1:
        raise ConfigError(
            f"MAILGRIP_WORKER_THREADS={values['worker_threads']} is invalid; use 1 or more."
        )
    if values["subscription_lifetime_minutes"] < 2:
        raise ConfigError(
            f"MAILGRIP_SUBSCRIPTION_LIFETIME_MINUTES={values['subscription_lifetime_minutes']} "
            "is invalid; use 2 or more, and at most what Graph allows (4230)."
        )
    if values["delta_fallback_minutes"] < 0:
        raise ConfigError(
            f"MAILGRIP_DELTA_FALLBACK_MINUTES={values['delta_fallback_minutes']} is invalid; "
            "use 0 or more."
        )
    if values["redis_url"] and not values["redis_url"].startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise ConfigError(
            "MAILGRIP_REDIS_URL is not a Redis URL; use redis://host:6379/0, rediss:// for "
            "TLS, or unix:///path/to/socket."
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
