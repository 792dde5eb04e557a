"""The small part of OData that the Graph mail endpoints accept: Prefer, $filter, $orderby,
$expand, and Graph's case-insensitive URL segments."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Message

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


class InvalidQuery(ValueError):
    """A query option cannot be understood; the message is Graph's sentence for it."""


# Prefer

_PREFERENCE = re.compile(r'\s*([^=,\s]+)\s*(?:=\s*("(?:[^"]*)"|[^,]*))?\s*(?:,|$)')


def parse_prefer(values: list[str]) -> dict[str, str]:
    """Parse ``Prefer`` headers (RFC 7240) into names, lower-case, and unquoted values."""
    preferences: dict[str, str] = {}
    for value in values:
        for match in _PREFERENCE.finditer(value):
            name, raw = match.group(1), (match.group(2) or "").strip()
            if name:
                preferences[name.lower()] = raw.strip('"')
    return preferences


def page_size(preferences: dict[str, str]) -> int | None:
    """Return ``odata.maxpagesize`` within 1..1000, or None when absent or not a number."""
    raw = preferences.get("odata.maxpagesize", "")
    if not raw.isdigit():
        return None
    return max(1, min(int(raw), MAX_PAGE_SIZE))


# URL segments

_SEGMENTS = {
    name.lower(): name
    for name in ("users", "me", "mailFolders", "messages", "attachments", "sendMail", "delta")
}
_KEY_SEGMENT = re.compile(r"^([A-Za-z.]+)\('((?:[^']|'')*)'\)$")
_FUNCTION_SEGMENT = re.compile(r"^(?:microsoft\.graph\.)?(delta)\(\)$", re.IGNORECASE)


def canonical_graph_path(path: str) -> str:
    """Rewrite a Graph path to the emulator's routes.

    Graph matches segment names without regard to case, accepts the OData key form
    ``mailFolders('sentitems')`` and the function form ``microsoft.graph.delta()``.
    """
    result = []
    for segment in path.split("/"):
        key = _KEY_SEGMENT.match(segment)
        function = _FUNCTION_SEGMENT.match(segment)
        if key:
            name = _SEGMENTS.get(key.group(1).lower(), key.group(1))
            result += [name, key.group(2).replace("''", "'")]
        elif function:
            result.append("delta")
        else:
            result.append(_SEGMENTS.get(segment.lower(), segment))
    return "/".join(result)


# $expand


@dataclass(frozen=True)
class Expansion:
    """One ``$expand`` item: a navigation property and its nested options, if any."""

    name: str
    options: str


def parse_expand(raw: str | None) -> list[Expansion]:
    """Split ``$expand`` at top-level commas into items with their parenthesised options."""
    if not raw:
        return []
    items, depth, current = [], 0, ""
    for char in raw:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    expansions = []
    for item in (part.strip() for part in items):
        if not item:
            continue
        name, _, rest = item.partition("(")
        expansions.append(Expansion(name.strip(), rest[:-1] if rest.endswith(")") else rest))
    return expansions


_ID_EQUALS = re.compile(r"\bid\s+eq\s+'((?:[^']|'')*)'", re.IGNORECASE)


def extended_property_ids(options: str) -> list[str]:
    """Return the ids in ``$filter=id eq '...' [or id eq '...']`` of an expand item.

    :raise InvalidQuery: there is no such filter; Graph expands extended properties only
        when a filter names them.
    """
    ids = [value.replace("''", "'") for value in _ID_EQUALS.findall(options)]
    if "$filter" not in options.lower() or not ids:
        raise InvalidQuery(
            "Expanding singleValueExtendedProperties needs $filter=id eq '<property id>'."
        )
    return ids


# $filter and $orderby on messages

_STRING_PROPERTIES: dict[str, Callable[[Message], Any]] = {
    "internetmessageid": lambda item: item.internet_message_id,
    "subject": lambda item: item.subject,
    "conversationid": lambda item: item.conversation_id,
    "id": lambda item: item.id,
}
_TIME_PROPERTIES: dict[str, Callable[[Message], Any]] = {
    "sentdatetime": lambda item: item.sent,
    "receiveddatetime": lambda item: item.received,
    "createddatetime": lambda item: item.created,
    "lastmodifieddatetime": lambda item: item.last_modified,
}
_BOOLEAN_PROPERTIES: dict[str, Callable[[Message], Any]] = {
    "isread": lambda item: item.is_read,
    "hasattachments": lambda item: item.has_attachments,
    "isdraft": lambda item: item.is_draft,
}
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda left, right: left == right,
    "ne": lambda left, right: left != right,
    "gt": lambda left, right: left is not None and left > right,
    "ge": lambda left, right: left is not None and left >= right,
    "lt": lambda left, right: left is not None and left < right,
    "le": lambda left, right: left is not None and left <= right,
}
_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|\S+)\s*$", re.IGNORECASE)


def _parse_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(f"The value '{text}' is not a valid DateTimeOffset.") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_filter(raw: str | None) -> Callable[[Message], bool]:
    """Compile a ``$filter`` of comparisons joined by ``and`` into a predicate.

    :raise InvalidQuery: an operator, property or value is not supported.
    """
    if not raw:
        return lambda item: True
    tests = []
    for clause in re.split(r"\s+and\s+", raw.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if not match:
            raise InvalidQuery(f"The query filter clause '{clause}' is not supported.")
        name, operator, literal = match.group(1).lower(), match.group(2).lower(), match.group(3)
        if name in _STRING_PROPERTIES and literal.startswith("'"):
            getter, value = _STRING_PROPERTIES[name], literal[1:-1].replace("''", "'")
        elif name in _TIME_PROPERTIES:
            getter, value = _TIME_PROPERTIES[name], _parse_time(literal.strip("'"))
        elif name in _BOOLEAN_PROPERTIES and literal.lower() in ("true", "false"):
            getter, value = _BOOLEAN_PROPERTIES[name], literal.lower() == "true"
        else:
            raise InvalidQuery(f"The query filter on '{match.group(1)}' is not supported.")
        compare = _COMPARISONS[operator]
        tests.append(
            lambda item, get=getter, test=compare, expected=value: test(get(item), expected)
        )
    return lambda item: all(test(item) for test in tests)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _sort_key(name: str) -> Callable[[Message], Any] | None:
    if name in _TIME_PROPERTIES:
        get_time = _TIME_PROPERTIES[name]
        # Messages without the time sort before every message that has it.
        return lambda item: (get_time(item) is not None, get_time(item) or _EPOCH)
    if name in _STRING_PROPERTIES:
        get_text = _STRING_PROPERTIES[name]
        return lambda item: (get_text(item) or "").lower()
    return None


def sort_messages(messages: list[Message], raw_orderby: str | None) -> list[Message]:
    """Sort by ``$orderby`` (default: newest received first), ties broken by id.

    :raise InvalidQuery: a sort property is not supported.
    """
    clauses = [part.split() for part in (raw_orderby or "receivedDateTime desc").split(",")]
    result = sorted(messages, key=lambda item: item.id)
    # Stable sorts from the last clause to the first give a multi-key sort.
    for clause in reversed(clauses):
        key = _sort_key(clause[0].lower()) if clause else None
        if key is None:
            raise InvalidQuery(f"The $orderby clause {' '.join(clause)!r} is not supported.")
        descending = len(clause) > 1 and clause[1].lower() == "desc"
        result.sort(key=key, reverse=descending)
    return result
