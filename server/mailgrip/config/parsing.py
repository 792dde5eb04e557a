"""Parsers of ``MAILGRIP_*`` values, and ``Setting``, one row of the settings table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ConfigError(Exception):
    """A setting is missing or has a value that cannot be used."""


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false.")


def parse_int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number.") from None


def parse_float(name: str, raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number.") from None


def parse_str(name: str, raw: str) -> str:
    return raw.strip()


def parse_rate_limit(name: str, raw: str) -> str:
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a rate limit; write it as '5 per minute; 20 per hour'."
        ) from None
    return raw.strip()


def choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ConfigError(f"{name}={raw!r} is not valid; use one of: {', '.join(allowed)}.")
        return value

    return parse


parse_distribution_list_policy = choice("refuse", "domain")
parse_code_delivery = choice("graph", "smtp")
parse_smtp_security = choice("starttls", "tls", "none")
# ProxyFix's keyword arguments: the X-Forwarded-* headers it can trust.
PROXY_FIX_HEADERS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")


def parse_proxy_fix(name: str, raw: str) -> dict[str, int]:
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
