"""Security headers per surface: Content-Security-Policy, HSTS, nosniff, Referrer-Policy.

Each response gets the policy of the surface that served it, chosen by blueprint: the task
pane (framed by Outlook), the recipient portal, the admin page, and everything else (API,
webhooks, health, error pages). A response that carries a file as an attachment gets a
sandbox policy instead, so that a file opened from the browser's downloads cannot run
script with Mailgrip's origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from ..config import Settings
from .taskpane_libraries import OFFICE_JS_CDN_ORIGIN

# Origins that host Outlook add-in task panes in a frame: Outlook on the web for work or
# school accounts (both hosts, and the cloud.microsoft domain Microsoft 365 moves to), and for
# personal accounts. The new Outlook for Windows loads Outlook on the web in WebView2, and
# classic Outlook opens the pane as a top-level page, so neither needs another origin.
# NOTE: listed from Microsoft's public host names, not from a test against Outlook; add
# national-cloud hosts (such as outlook.office365.us) when a deployment needs them.
OFFICE_FRAME_ANCESTORS = (
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook.cloud.microsoft",
    "https://outlook.live.com",
)
# Inside Outlook, Office.js loads MicrosoftAjax.js from this CDN; no npm package ships it.
MICROSOFT_AJAX_ORIGIN = "https://ajax.aspnetcdn.com"
# The portal, admin page and error pages carry their styles inline in the page head.
_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The portal page's one script is a same-origin file that reports the visit back.
_PORTAL_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_ADMIN_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# A file served for download: no script, no plugin, no same-origin access, even if a browser
# renders it against the Content-Disposition.
DOWNLOAD_POLICY = "sandbox; default-src 'none'"
HSTS_VALUE = "max-age=31536000; includeSubDomains"
# Pages that Outlook shows in a frame, which X-Frame-Options: DENY would break.
FRAMED_BLUEPRINTS = frozenset({"taskpane", "addin"})


def taskpane_policy(settings: Settings, ancestors: tuple[str, ...] = OFFICE_FRAME_ANCESTORS) -> str:
    """Return the policy of the pages that run Office.js: script from Mailgrip and Office's CDN.

    :param ancestors: origins besides Mailgrip's own that may frame the page.
    """
    scripts = ["'self'"]
    # MAILGRIP_OFFICE_JS=local serves Office.js from Mailgrip itself, for offline use.
    if settings.office_js != "local":
        scripts += [OFFICE_JS_CDN_ORIGIN, MICROSOFT_AJAX_ORIGIN]
    connect = ["'self'", origin_of(settings.authority)]
    frames = ["'self'", *ancestors]
    return (
        f"default-src 'none'; script-src {' '.join(scripts)}; style-src 'self'; "
        f"img-src 'self' data:; connect-src {' '.join(connect)}; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {' '.join(frames)}"
    )


def origin_of(url: str) -> str:
    """Return the scheme, host and port of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def init_security_headers(app: Flask, settings: Settings) -> None:
    """Set the headers of every response of ``app`` from its surface and the settings."""
    policies = {
        "taskpane": taskpane_policy(settings),
        # Outlook on the web runs the add-in's launch events in a hidden frame of its own.
        "addin": taskpane_policy(settings),
        # The sign-in dialog opens as a window of its own, never in a frame.
        "taskpane_dialog": taskpane_policy(settings, ancestors=()),
        "portal": _PORTAL_POLICY,
        "admin": _ADMIN_POLICY,
    }
    hsts = settings.public_url.startswith("https://")

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        if headers.get("Content-Disposition", "").startswith("attachment"):
            headers["Content-Security-Policy"] = DOWNLOAD_POLICY
        else:
            headers["Content-Security-Policy"] = policies.get(request.blueprint or "", _PAGE_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        # Portal and image URLs carry tokens, so no page of Mailgrip sends a Referer.
        headers["Referrer-Policy"] = "no-referrer"
        if request.blueprint not in FRAMED_BLUEPRINTS:
            # The older header, for browsers that ignore frame-ancestors.
            headers["X-Frame-Options"] = "DENY"
        if request.blueprint in {"portal", "opens"}:
            # Token URLs and their pages stay out of shared caches and search engines.
            if request.blueprint == "portal":
                headers["Cache-Control"] = "no-store"
            headers["X-Robots-Tag"] = "noindex, nofollow"
        if hsts:
            headers["Strict-Transport-Security"] = HSTS_VALUE
        return response
