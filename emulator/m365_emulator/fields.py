"""Checks of the control API's JSON fields, whose errors name the field and what it accepts."""

from __future__ import annotations

import math
from typing import Any


def integer(name: str, value: Any, minimum: int, maximum: int) -> int:
    """Return ``value`` if it is a JSON integer from ``minimum`` to ``maximum``.

    :raise ValueError: it is another type (true and false included) or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ValueError(
            f"{name} {value!r} is invalid; use an integer from {minimum} to {maximum}."
        )
    return value


def number(name: str, value: Any, minimum: float, maximum: float) -> float:
    """Return ``value`` as a float if it is a JSON number from ``minimum`` to ``maximum``.

    :raise ValueError: it is another type, not finite, or out of range.
    """
    valid = isinstance(value, int | float) and not isinstance(value, bool)
    if not valid or not math.isfinite(value) or not minimum <= value <= maximum:
        raise ValueError(
            f"{name} {value!r} is invalid; use a number from {minimum:g} to {maximum:g}."
        )
    return float(value)


def text(name: str, value: Any) -> str:
    """Return ``value`` if it is a JSON string.

    :raise ValueError: it is another type.
    """
    if not isinstance(value, str):
        raise ValueError(f"{name} {value!r} is invalid; use a string.")
    return value


def boolean(name: str, value: Any) -> bool:
    """Return ``value`` if it is true or false.

    :raise ValueError: it is another type.
    """
    if not isinstance(value, bool):
        raise ValueError(f"{name} {value!r} is invalid; use true or false.")
    return value


def reject_unknown(body: dict[str, Any], known: frozenset[str]) -> None:
    """Check that ``body`` has only fields in ``known``.

    :raise ValueError: a field is unknown.
    """
    unknown = sorted(set(body) - known)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; use {', '.join(sorted(known))}.")
