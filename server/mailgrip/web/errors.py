"""One error handler for every surface: JSON for the API, a page for people."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from ..db import db
from ..errors import MailgripError, TokenInvalid

log = logging.getLogger(__name__)

_JSON_PREFIXES = ("/api/", "/graph/", "/healthz", "/readyz")


def wants_json() -> bool:
    """Whether the error for the current request should be JSON rather than a page."""
    if request.path.startswith(_JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _render(status: int, code: str, message: str, detail: dict | None = None):
    if wants_json():
        body = {"error": code, "message": message}
        if detail:
            body["detail"] = detail
        return body, status
    return render_template("error.html", status=status, message=message), status


def _bearer_challenge() -> str:
    """Return the ``WWW-Authenticate`` value of a 401 from the bearer-token API.

    RFC 6750 section 3.1: a request without a bearer token gets a challenge without an error
    code, and a request whose token was rejected gets ``invalid_token``.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return 'Bearer realm="mailgrip", error="invalid_token"'
    return 'Bearer realm="mailgrip"'


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(MailgripError)
    def handle_mailgrip_error(error: MailgripError):
        body, status = _render(error.status, error.code, error.message, error.detail)
        if isinstance(error, TokenInvalid):
            return body, status, {"WWW-Authenticate": _bearer_challenge()}
        return body, status

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        message = error.description or error.name
        if error.code == 405 and not wants_json():
            # Mostly a reload or a pasted address of a page that only a form may open.
            message = gettext(
                "This address cannot be opened directly. Go back to the page and use its button."
            )
        body, status = _render(error.code or 500, code, message)
        # Keep the headers HTTP requires with some errors, such as Allow with 405.
        allow = error.get_response().headers.get("Allow")
        return body, status, ({"Allow": allow} if allow else {})

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # The unit of work failed half-way: roll back so the next request starts clean.
        db.session.rollback()
        # The route's pattern, not the path: portal and image paths carry link tokens.
        route = request.url_rule.rule if request.url_rule else "(no route)"
        log.exception("Unhandled error on %s %s", request.method, route)
        return _render(500, "internal_error", "Something went wrong on our side. Try again later.")
