"""Reading a request's small JSON body without reading an unbounded one into memory."""

from __future__ import annotations

from typing import Any

from flask import request

from ..errors import PayloadTooLarge

# The JSON bodies of Mailgrip's routes have a few short fields; file bytes never come as JSON.
MAX_JSON_BYTES = 64 * 1024


def read_json() -> Any:
    """Return the request's parsed JSON body, or None when it is missing or not JSON.

    :raise PayloadTooLarge: the body announces more than ``MAX_JSON_BYTES`` bytes.
    """
    length = request.content_length
    if length is not None and length > MAX_JSON_BYTES:
        raise PayloadTooLarge(
            f"The JSON body has {length} bytes, and the limit is {MAX_JSON_BYTES} bytes. Send "
            "only the fields that the request needs.",
            limit=MAX_JSON_BYTES,
        )
    # NOTE: werkzeug reads a body without Content-Length (chunked) only up to this size, so a
    # larger one fails to parse and gets the caller's 400 for a missing JSON object, not 413.
    request.max_content_length = MAX_JSON_BYTES
    return request.get_json(silent=True)
