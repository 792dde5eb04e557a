"""The sender's marker cookie, which the task pane requests so its browser's views never count."""

from __future__ import annotations

from flask import Response, g

from ...tracking.sender import set_sender_cookie
from . import bp
from .auth import require_caller


@bp.post("/sender-cookie")
@require_caller
def mark_sender_browser() -> Response:
    """Set the signed cookie that labels this browser's portal visits and image fetches.

    :return: 204 with a ``Set-Cookie`` header for Mailgrip's origin.
    """
    response = Response(status=204)
    set_sender_cookie(response, g.mailbox)
    response.headers["Cache-Control"] = "no-store"
    return response
