"""Control characters in text that comes from outside: mail headers, form fields, requests."""

from __future__ import annotations

import unicodedata


def is_control(char: str) -> bool:
    """Return whether ``char`` is a Unicode control character (C0, DEL or C1)."""
    return unicodedata.category(char) == "Cc"


def has_control_character(value: str) -> bool:
    return any(is_control(char) for char in value)


def remove_control_characters(value: str, keep: str = "") -> str:
    """Return ``value`` without control characters, except those in ``keep``.

    PostgreSQL rejects NUL in text columns, and the others have no place in names or headers.
    """
    return "".join(char for char in value if char in keep or not is_control(char))
