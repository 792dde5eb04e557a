"""Graph's timestamps: ISO 8601 date and time with a UTC offset, read strictly."""

from __future__ import annotations

import re
from datetime import datetime

# Graph writes "2026-01-05T09:30:00Z", with up to seven fractional digits and "Z" or an offset.
# Dates alone, week dates and times without an offset are not Graph's and are refused, because a
# time without an offset would be read in the server's own zone.
_GRAPH_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)


def parse_graph_time(value: object) -> datetime | None:
    """Read a Graph timestamp.

    :return: a timezone-aware time, or None when ``value`` is not a string in Graph's form.
    """
    if not isinstance(value, str) or not _GRAPH_TIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        # The form matched but a field is out of range, such as month 13.
        return None
