"""The open-tracking image under ``/o/``: one transparent pixel per message.

The image is the same for every request, known token or not, so a fetch reveals nothing
about whether a token exists, and a mail client never shows a broken image.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response

from ..db import db
from ..shares.service import find_share_by_open_token
from ..tracking.events import record_event

log = logging.getLogger(__name__)

bp = Blueprint("opens", __name__)

# A 1x1 GIF89a whose only pixel is transparent: header, logical screen, a two-colour table,
# a graphic control extension marking colour 0 transparent, the image and the trailer.
TRANSPARENT_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00"
    b"\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00"
    b"\x02\x02D\x01\x00;"
)


@bp.get("/o/<token>.gif")
def tracking_image(token: str) -> Response:
    """Return the pixel and record ``opened`` for a known token.

    A HEAD request is recorded too, and labelled as the probe it is.
    """
    _record_open(token)
    return _pixel()


@bp.get("/o/", defaults={"anything": ""})
@bp.get("/o/<path:anything>")
def any_image(anything: str) -> Response:
    """Return the pixel for a tracking URL that a mail client or gateway mangled or cut short."""
    return _pixel()


def _record_open(token: str) -> None:
    share_id = None
    try:
        share = find_share_by_open_token(token)
        if share is None:
            return
        share_id = share.id
        record_event("opened", share)
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        # A database failure must not cost the mail client its image, so it is only logged.
        db.session.rollback()
        log.exception("Recording an open of share %s failed", share_id)


def _pixel() -> Response:
    response = Response(TRANSPARENT_GIF, content_type="image/gif")
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
