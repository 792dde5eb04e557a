"""Checks across settings: production requirements, SMTP, jobs, and derived values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .parsing import ConfigError
from .table import SETTINGS


def check_choice(values: dict[str, Any], attribute: str, choices: tuple[str, ...]) -> None:
    if values[attribute] not in choices:
        raise ConfigError(
            f"MAILGRIP_{attribute.upper()}={values[attribute]!r} is not valid; use "
            f"{' or '.join(choices)}."
        )


# A secret key shorter than this is guessable enough to forge portal sessions.
MIN_SECRET_KEY_CHARS = 32


def check_production(values: dict[str, Any], environ: Mapping[str, str]) -> None:
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


def check_smtp(values: dict[str, Any]) -> None:
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


def check_job_settings(values: dict[str, Any]) -> None:
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
    # A retention of zero would delete a draft share while its user is still writing.
    if not values["draft_retention_days"] > 0:
        raise ConfigError(
            f"MAILGRIP_DRAFT_RETENTION_DAYS={values['draft_retention_days']} is invalid; use a "
            "number of days above 0, such as 3."
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


def tenant_list(raw: str, tenant_id: str) -> tuple[str, ...]:
    tenants = [tenant.strip().lower() for tenant in raw.split(",") if tenant.strip()]
    if not tenants and tenant_id:
        tenants = [tenant_id.lower()]
    return tuple(dict.fromkeys(tenants))


def thumbprint(certificate_pem: str) -> str:
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
