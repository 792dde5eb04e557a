"""The task pane in a plain browser: its page, versioned static files and the demo sign-in."""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _

from ..config import ConfigError
from ..extensions import csrf
from ..identity.password_grant import PasswordGrantFailed, acquire_demo_api_token
from ..services import services
from ..settings import current_settings
from .json_body import read_json
from .taskpane_files import TASKPANE_DIR
from .taskpane_libraries import library_url

log = logging.getLogger(__name__)


bp = Blueprint(
    "taskpane",
    __name__,
    url_prefix="/taskpane",
    template_folder=str(TASKPANE_DIR / "templates"),
    static_folder=str(TASKPANE_DIR / "static"),
)


# A versioned static URL never changes content, so browsers may keep it for a year.
_IMMUTABLE = "public, max-age=31536000, immutable"

_SELECTION_PARAMETERS = ("messageId", "graphId", "internetMessageId")


@bp.record_once
def _check_taskpane_dir(state: BlueprintSetupState) -> None:
    """Refuse to start when the pane's files are missing or the setting disagrees with them.

    :raise ConfigError: ``MAILGRIP_TASKPANE_DIR`` names another folder than the one in use, or
        the folder lacks ``templates/taskpane.html``.
    """
    configured = state.app.extensions["mailgrip.settings"].taskpane_dir
    if configured and Path(configured).resolve() != TASKPANE_DIR:
        raise ConfigError(
            f"MAILGRIP_TASKPANE_DIR={configured!r} differs from {str(TASKPANE_DIR)!r}, the folder "
            "read when the process started. Set the variable in the environment of the process."
        )
    if not (TASKPANE_DIR / "templates" / "taskpane.html").is_file():
        raise ConfigError(
            f"The task pane's files are missing: {TASKPANE_DIR / 'templates' / 'taskpane.html'} "
            "does not exist. Set MAILGRIP_TASKPANE_DIR to the folder that holds templates/ and "
            "static/."
        )


def asset_version(filename: str) -> str:
    """Return a short hash of a static file's content, for its ``v`` query parameter.

    A content hash, unlike a modification time, is the same on every machine of a release.
    """
    path = Path(bp.static_folder or "") / filename
    stat = path.stat()
    return _hash_file(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _hash_file(path: str, mtime_ns: int, size: int) -> str:
    # mtime_ns and size are part of the cache key, so an edited file is hashed again.
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


@bp.context_processor
def _asset_url() -> dict[str, Any]:
    def asset_url(filename: str) -> str:
        return url_for("taskpane.static", filename=filename, v=asset_version(filename))

    return {"asset_url": asset_url}


@bp.after_request
def _set_static_caching(response):
    """Let browsers keep a static file for long only under its current versioned URL."""
    if request.endpoint == "taskpane.static" and response.status_code == 200:
        filename = (request.view_args or {}).get("filename", "")
        if request.args.get("v") == asset_version(filename):
            response.headers["Cache-Control"] = _IMMUTABLE
    return response


@bp.get("")
def page():
    """Render the task pane, whose script then loads tracking with the user's bearer token.

    The query parameter ``messageId``, ``graphId`` or ``internetMessageId`` selects a message.
    Without one, the pane lists the signed-in user's messages.
    """
    settings = current_settings()
    config = {
        "apiUrl": request.script_root + "/api",
        "listUrl": url_for(".page"),
        "signinUrl": url_for(".signin") if settings.demo_signin else None,
        "demoSignin": settings.demo_signin,
        "locale": str(get_locale()),
        "selection": _selection(),
        "auth": outlook_auth_config(settings),
        "libraries": {
            "fluent": library_url("fluentui", "web-components-all.min.js"),
            "fluentTokens": library_url("fluentui-tokens", "index.js"),
        },
    }
    response = current_app.make_response(render_template("taskpane.html", config=config))
    # The page names versioned static URLs, so a cached copy could load a previous release.
    response.headers["Cache-Control"] = "no-cache"
    return response


def outlook_auth_config(settings) -> dict[str, Any]:
    """Return what the pane's sign-in inside Outlook needs: the app, authority and scope."""
    return {
        "clientId": settings.client_id,
        "authority": f"{settings.authority}/{settings.tenant_id}",
        "scopes": [f"api://{settings.client_id}/{settings.api_scope}"],
        "dialogUrl": url_for("taskpane_dialog.page", _external=True),
    }


def _selection() -> dict[str, str] | None:
    for parameter in _SELECTION_PARAMETERS:
        value = request.args.get(parameter, "").strip()
        if value:
            return {"by": parameter, "value": value}
    return None


# The sign-in posts JSON through fetch and carries no cookie, so Flask-WTF's CSRF token does not
# apply. A cross-site page can send JSON only after a CORS preflight, which fails because
# Mailgrip sends no CORS headers. Browsers also send Origin with every cross-origin POST, and
# the view checks it.
@bp.post("/signin")
@csrf.exempt
def signin():
    """Exchange a demo user's username and password for an API access token.

    :return: 200 with ``accessToken`` and ``expiresIn`` (seconds), 401 when the identity
        platform rejects the credentials, 502 when it fails or cannot be reached.
    :raise 404: demo sign-in is disabled.
    :raise 403: the request comes from another origin than Mailgrip's.
    """
    settings = current_settings()
    if not settings.demo_signin:
        abort(404)
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return _error(403, "forbidden_origin", _("Sign-in is accepted only from Mailgrip's pages."))

    body = read_json()
    username = body.get("username") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(username, str) or not isinstance(password, str):
        return _error(400, "bad_request", _("Send a JSON object with a username and a password."))
    username = username.strip()
    if not username or not password:
        return _error(400, "bad_request", _("Enter your username and your password."))

    # The password grant suits only the demo: accounts that need multi-factor authentication
    # cannot use it, and Outlook signs users in another way.
    try:
        granted = acquire_demo_api_token(services().session, settings, username, password)
    except PasswordGrantFailed as failure:
        return _signin_failure(username, failure)

    log.info("Demo sign-in succeeded for %r", username)
    response = current_app.make_response(
        {"accessToken": granted.access_token, "expiresIn": granted.expires_in}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _signin_failure(username: str, failure: PasswordGrantFailed):
    """Map a refused password grant to 401 for the user's mistakes and 502 for the rest."""
    # The identity platform's error fields carry no secret, so they are safe to log.
    log.warning(
        "Demo sign-in for %r failed: error=%s codes=%s correlation_id=%s",
        username,
        failure.error,
        list(failure.error_codes),
        failure.correlation_id,
    )
    if failure.error == "unavailable":
        return _error(
            502,
            "identity_unreachable",
            _(
                "The sign-in service could not be reached. Try again in a minute, or ask your "
                "administrator to check Mailgrip's sign-in settings."
            ),
        )
    if failure.error != "invalid_grant":
        return _error(
            502,
            "signin_failed",
            _(
                "The sign-in service refused the request (%(error)s). Ask your administrator to "
                "check Mailgrip's sign-in settings.",
                error=failure.error,
            ),
        )

    # AADSTS codes of the identity platform. Any other code, including 50126 (wrong password)
    # and 50034 (unknown user), gets one message, so the form does not reveal who has an account.
    codes = set(failure.error_codes)
    if 50053 in codes:
        message = _("This account is locked after too many failed sign-ins. Wait a few minutes.")
        return _error(401, "account_locked", message)
    if 50055 in codes:
        message = _("The password of this account has expired. Change it, then sign in again.")
        return _error(401, "password_expired", message)
    if codes & {50076, 50079}:
        message = _(
            "This account needs multi-factor authentication, which this sign-in form cannot "
            "do. Open Mailgrip from Outlook instead."
        )
        return _error(401, "mfa_required", message)
    return _error(401, "invalid_credentials", _("The username or password is incorrect."))


def _error(status: int, code: str, message: str):
    return {"error": code, "message": message}, status
