"""The sign-in dialog that the task pane opens inside Outlook when single sign-on is unavailable.

Outlook opens this page with the Office dialog API. Its script runs the OAuth 2.0
authorization code flow with PKCE against the identity platform, as a single-page application
does, and passes the access token to the pane with ``Office.context.ui.messageParent``.
The code and the token never reach Mailgrip's server.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..settings import current_settings
from .taskpane import asset_version, outlook_auth_config
from .taskpane_files import TASKPANE_DIR

bp = Blueprint(
    "taskpane_dialog",
    __name__,
    url_prefix="/taskpane",
    template_folder=str(TASKPANE_DIR / "templates"),
)


@bp.context_processor
def _asset_url() -> dict[str, Any]:
    def asset_url(filename: str) -> str:
        return url_for("taskpane.static", filename=filename, v=asset_version(filename))

    return {"asset_url": asset_url}


@bp.get("/signin-dialog")
def page():
    """Render the dialog page; its script redirects to the identity platform and back here."""
    settings = current_settings()
    auth = outlook_auth_config(settings)

    config = {
        "clientId": auth["clientId"],
        "authority": auth["authority"],
        "scopes": auth["scopes"],
        "redirectUri": auth["dialogUrl"],
        "locale": str(get_locale()),
        "strings": {
            "redirecting": _("Opening the sign-in page…"),
            "finishing": _("Finishing sign-in…"),
            "stateMismatch": _(
                "The sign-in answer does not belong to this window. Close it and sign in again."
            ),
            "failed": _("Sign-in failed: {message}"),
            "unreachable": _(
                "The sign-in service could not be reached. Close this window and try again."
            ),
        },
    }

    response = current_app.make_response(render_template("signin_dialog.html", config=config))
    response.headers["Cache-Control"] = "no-store"
    return response
