"""Trust of reverse proxies' ``X-Forwarded-*`` headers, only as far as configured."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Settings

log = logging.getLogger(__name__)


def apply_proxy_fix(app: Flask, settings: Settings) -> None:
    """Wrap ``app`` in ProxyFix with the counts of ``MAILGRIP_PROXY_FIX``; off when empty.

    Without a proxy in front, a client could send X-Forwarded-For itself and choose the IP
    address that rate limits and events see, so nothing is trusted by default.
    """
    if not settings.proxy_fix:
        return
    counts = {name: 0 for name in ("x_for", "x_proto", "x_host", "x_port", "x_prefix")}
    counts.update(settings.proxy_fix)
    app.wsgi_app = ProxyFix(app.wsgi_app, **counts)  # type: ignore[method-assign]
    log.info("Trusting X-Forwarded-* headers of reverse proxies: %s", settings.proxy_fix)
