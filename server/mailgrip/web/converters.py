"""URL converters shared by the blueprints."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# Row ids are PostgreSQL INTEGER columns (SQLite keeps them in 64 bits); a larger number can
# name no row, and passing it to the database would fail instead of returning 404.
MAX_ROW_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A row id in a URL: a whole number from 1 to ``MAX_ROW_ID``; anything else is a 404."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002  (werkzeug's parameter name)
        super().__init__(map, min=1, max=MAX_ROW_ID)
