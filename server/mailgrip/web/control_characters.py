"""Rejecting control characters in a request's path, query and form before any view runs.

PostgreSQL raises ``DataError`` when a query binds a text value with NUL, which was a 500.
SQLite ends a LIKE pattern at NUL, which matched every row. No path segment or query argument
of Mailgrip (ids, link tokens, search terms, Graph's validation token) contains a control
character (C0, DEL or C1). The tracking image under /o/ is the one exception.
Form fields may hold tab and line breaks, so there only NUL is rejected here, and each view
checks the rest of its own fields with a message that fits the field.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext

from ..errors import BadRequest
from ..text import has_control_character

# The tracking image returns the same pixel for every path under /o/, so that a mail client
# never shows a broken image. Its token is only hashed, never compared as text.
_PIXEL_PREFIX = "/o/"
# Views under /api/ read multipart bodies from request.stream with limits of their own, and
# parsing request.form here first would read the whole upload into memory.
_STREAMED_PREFIX = "/api/"


def init_control_character_check(app: Flask) -> None:
    """Run the check before every request of ``app``, including requests for unknown paths."""
    app.before_request(reject_control_characters)


def reject_control_characters() -> None:
    """Reject a request whose path, query arguments or form fields contain a control character.

    :raise 400: naming the parameter (``path``, the argument's or the field's name).
    """
    if request.path.startswith(_PIXEL_PREFIX):
        return
    if has_control_character(request.path):
        _reject("path")
    for name, value in request.args.items(multi=True):
        if has_control_character(name) or has_control_character(value):
            _reject(_printable(name))
    if _form_is_parsed_here():
        for name, value in request.form.items(multi=True):
            if "\0" in name or "\0" in value:
                _reject(_printable(name), only_nul=True)


def _form_is_parsed_here() -> bool:
    if request.mimetype == "application/x-www-form-urlencoded":
        return True
    return request.mimetype == "multipart/form-data" and not request.path.startswith(
        _STREAMED_PREFIX
    )


def _printable(name: str) -> str:
    # The parameter's name goes into the message, so its own control characters are shown
    # as code points instead of being echoed.
    return "".join(f"U+{ord(char):04X}" if has_control_character(char) else char for char in name)


def _reject(parameter: str, only_nul: bool = False) -> None:
    if only_nul:
        message = gettext(
            "The field %(name)s contains a NUL character (U+0000), which no field can hold. "
            "Type the value again and resend the form.",
            name=parameter,
        )
    elif parameter == "path":
        message = gettext(
            "The address contains a control character (such as U+0000), which no Mailgrip "
            "address has. Copy the link again and retry."
        )
    else:
        message = gettext(
            "The query parameter %(name)s contains a control character (such as U+0000), "
            "which it cannot hold. Remove it or copy the value again and retry.",
            name=parameter,
        )
    raise BadRequest(message, parameter=parameter)
