"""The sender's marker: a signed cookie that the task pane requests for its browser.

The task pane runs on Mailgrip's origin and requests ``SENDER_COOKIE``. The sender's browser
then sends the cookie when it opens the portal link or shows the tracking image. Requests
that carry a valid cookie for the share's owner are labelled ``sender``.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..mirror.models import Mailbox
from ..shares.models import Share

SENDER_COOKIE = "mailgrip_sender"
_SALT = "mailgrip.sender-marker"
# Browsers keep a cookie for at most 400 days; the pane renews it on every load.
SENDER_COOKIE_MAX_AGE = timedelta(days=400)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def set_sender_cookie(response: Response, mailbox: Mailbox) -> None:
    """Set the signed cookie that marks this browser as ``mailbox``'s.

    Image fetches from a webmail page are cross-site requests, which carry a cookie only with
    ``SameSite=None``, and browsers accept that only on a ``Secure`` cookie. Over plain HTTP
    (the demo) the cookie is ``Lax`` and so marks portal visits only.

    NOTE: browsers that block third-party cookies never send it with a webmail image, so
    there only the sender's network marks the Sent Items copy.
    """
    secure = request.is_secure
    response.set_cookie(
        SENDER_COOKIE,
        _serializer().dumps(mailbox.id),
        max_age=int(SENDER_COOKIE_MAX_AGE.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
    )


def carries_sender_cookie(share: Share) -> bool:
    """Return whether the current request carries a valid sender cookie of ``share``'s owner."""
    value = request.cookies.get(SENDER_COOKIE)
    if not value:
        return False
    try:
        mailbox_id = _serializer().loads(
            value, max_age=int(SENDER_COOKIE_MAX_AGE.total_seconds())
        )
    except BadSignature:
        return False
    return mailbox_id == share.owner_mailbox_id
