"""Rate limits on the routes that anyone holding a link can call, with Flask-Limiter.

Each route that records events or mails codes is limited per client IP address, and the code
routes also per email address, so neither many addresses from one host nor many hosts against
one address get far. Only requests on a valid link for a recipient of its share count against
an address, so that nobody can lock a recipient out without the link.

Counters live in Redis when ``MAILGRIP_REDIS_URL`` is set, so that every process of a
deployment shares them, and in process memory otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, Response, current_app, g, render_template, request
from flask_babel import gettext, ngettext
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded

from ..config import Settings
from ..db import db
from ..mirror.addresses import address_key
from ..mirror.models import MAX_ADDRESS
from ..shares.models import Share
from ..shares.service import find_share_by_link_token
from ..text import has_control_character
from ..verification.recipients import RecipientMatch, match_recipient
from .errors import wants_json

log = logging.getLogger(__name__)

LIMITER_KEY = "mailgrip.limiter"


def client_ip() -> str:
    """Return the client's IP address, as ProxyFix left it when proxies are trusted."""
    return request.remote_addr or "unknown"


def form_address_key() -> str:
    """Return a hash of the form's email address in comparison form, or "" when it has none.

    The hash keeps recipients' addresses out of Redis and out of the limiter's log lines.
    """
    address = request.form.get("address", "").strip()
    if not address or len(address) > MAX_ADDRESS or has_control_character(address):
        return ""
    return "address:" + hashlib.sha256(address_key(address).encode()).hexdigest()


def _not_a_recipient_address() -> bool:
    """Tell whether the per-address limit skips this request.

    Only a valid link and an address that its share was sent to count against an address.
    Otherwise anyone could post a recipient's address to a made-up link and lock the
    recipient out of their files. The per-IP limit still counts such posts.
    """
    if not form_address_key():
        return True
    return _request_recipient_match() is None


def _request_recipient_match() -> tuple[Share, RecipientMatch] | None:
    """Return the share of the link in the URL and the recipient the form's address matches.

    Returns None when the link matches no share or the address no recipient. The result is
    kept on ``g``, because each limit and the lockout record ask again in the same request.
    """
    if "rate_limit_match" not in g:
        g.rate_limit_match = _find_recipient_match()
    return g.rate_limit_match


def _find_recipient_match() -> tuple[Share, RecipientMatch] | None:
    token = (request.view_args or {}).get("token")
    share = find_share_by_link_token(token) if token else None
    if share is None:
        return None
    match = match_recipient(share, request.form.get("address", "").strip())
    if match.recipient is None:
        return None
    return share, match


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """Bind a limiter with the settings' limits to the portal and tracking-image routes.

    Call after the blueprints are registered: limits wrap the registered view functions, so
    that each app (the tests create many) has a limiter and counters of its own.
    """
    limiter = Limiter(
        key_func=client_ip,
        storage_uri=settings.redis_url or "memory://",
        key_prefix=settings.rate_limit_key_prefix,
        strategy="moving-window",
        headers_enabled=False,
        # A Redis outage falls back to per-process counters instead of failing requests.
        in_memory_fallback_enabled=bool(settings.redis_url),
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter

    per_address = {"key_func": form_address_key, "exempt_when": _not_a_recipient_address,
                   "on_breach": _record_address_lockout}
    # Pages and downloads count against one budget per client.
    portal = {"scope": "portal"}
    limits: dict[str, list[tuple[str, dict]]] = {
        "portal.request_code": [
            (settings.rate_limit_code_requests, {}),
            (settings.rate_limit_code_requests_per_address, per_address),
        ],
        "portal.verify": [
            (settings.rate_limit_code_entries, {}),
            (settings.rate_limit_code_entries_per_address, per_address),
        ],
        "portal.show_share": [(settings.rate_limit_portal, portal)],
        "portal.enter_code": [(settings.rate_limit_portal, portal)],
        "portal.download": [(settings.rate_limit_portal, portal)],
        "opens.tracking_image": [(settings.rate_limit_tracking_image, {})],
    }
    for endpoint, endpoint_limits in limits.items():
        view = app.view_functions[endpoint]
        for value, options in endpoint_limits:
            if "scope" in options:
                view = limiter.shared_limit(value, **options)(view)
            else:
                view = limiter.limit(value, **options)(view)
        app.view_functions[endpoint] = view

    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    return limiter


def retry_after_seconds() -> int:
    """Return the whole seconds until the breached limit of this request admits one more."""
    limiter: Limiter = current_app.extensions[LIMITER_KEY]
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _too_many_requests(error: RateLimitExceeded) -> Response:
    """Return 429 with Retry-After: a pixel for the image, JSON or a page for the rest."""
    retry_after = retry_after_seconds()
    route = request.url_rule.rule if request.url_rule else "(no route)"
    log.warning("Rate limit %s reached on %s %s; retry after %d s",
                error.description, request.method, route, retry_after)
    if request.endpoint == "opens.tracking_image":
        # A mail client shows a broken image for a body that is not an image.
        from .opens import TRANSPARENT_GIF

        response = Response(TRANSPARENT_GIF, 429, content_type="image/gif")
    elif wants_json():
        response = current_app.make_response((
            {
                "error": "too_many_requests",
                "message": gettext("Too many requests. Try again in %(seconds)d seconds.",
                                   seconds=retry_after),
                "retryAfter": retry_after,
            },
            429,
        ))
    else:
        page = render_template(
            "portal/notice.html",
            title=gettext("Too many requests"),
            message=ngettext(
                "Too many requests came from your network or for this address. Wait "
                "%(num)d minute, then try again.",
                "Too many requests came from your network or for this address. Wait "
                "%(num)d minutes, then try again.",
                max(1, round(retry_after / 60)),
            ),
        )
        response = Response(page, 429, content_type="text/html; charset=utf-8")
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def _record_address_lockout(limit: RequestLimit) -> None:
    """Record that one address's code requests or entries reached their limit."""
    from ..verification.lockouts import record_lockout

    found = _request_recipient_match()
    if found is None:
        return
    share, match = found
    assert match.recipient is not None
    reason = "code_requests" if request.endpoint == "portal.request_code" else "code_entries"
    record_lockout(share, match.recipient, reason, member=match.member)
    db.session.commit()
