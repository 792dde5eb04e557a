"""The admin page under ``/admin/``: mailbox health, message search, timelines, audit export.

Only admins reach it (see ``admin.signin``). Everyone else gets 404 on every route but the
sign-in, so the page reveals nothing to them.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from ..admin.audit_export import iter_audit_csv
from ..admin.microsoft_signin import (
    SignInExpired,
    SignInRejected,
    SignInUnavailable,
    begin_signin,
    finish_signin,
)
from ..admin.search import MAX_SEARCH_RESULTS, find_messages, mailbox_health, message_history
from ..admin.signin import NotAdmin, admin_from_token, current_admin, end_session, start_session
from ..audit import record_audit
from ..db import db
from ..extensions import csrf
from ..identity.password_grant import PasswordGrantFailed, acquire_demo_api_token
from ..services import services
from ..settings import current_settings

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The CSRF check runs in ``_require_admin`` after the admin check, so that someone who is not
# an admin gets 404 and not a CSRF error that would confirm the route.
csrf.exempt(bp)

# Routes that someone who is not signed in yet must reach.
_PUBLIC_ENDPOINTS = {
    "admin.signin",
    "admin.start_microsoft_signin",
    "admin.finish_microsoft_signin",
    "admin.start_session_with_token",
}

EVENT_LABELS = {
    "opened": lazy_gettext("Tracking image loaded"),
    "link_opened": lazy_gettext("Link opened"),
    "code_sent": lazy_gettext("Code sent"),
    "verification_refused": lazy_gettext("Code refused: address not a recipient"),
    "verification_failed": lazy_gettext("Wrong or expired code"),
    "verified": lazy_gettext("Recipient verified"),
    "downloaded": lazy_gettext("File downloaded"),
    "download_denied": lazy_gettext("Download denied"),
}


@bp.before_request
def _require_admin():
    if request.endpoint not in _PUBLIC_ENDPOINTS:
        g.admin = current_admin()
        if g.admin is None:
            abort(404)
    if request.method == "POST" and request.endpoint != "admin.start_session_with_token":
        csrf.protect()
    return None


@bp.after_request
def _no_caching(response: Response) -> Response:
    # Admin pages show other people's mail data, so no cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    """Show every mailbox with its sync health, and the message search."""
    return render_template("admin/index.html", mailboxes=mailbox_health())


@bp.get("/messages")
def search():
    """Find messages by subject, sender or recipient address, or ``internetMessageId``."""
    query = request.args.get("q", "")
    messages = find_messages(query)
    return render_template(
        "admin/messages.html",
        query=query,
        messages=messages,
        truncated=len(messages) >= MAX_SEARCH_RESULTS,
    )


@bp.get("/messages/<id:message_id>")
def message(message_id: int):
    """Show one message with its recipients, files, blocks and events, newest first.

    :raise 404: no such message.
    """
    history = message_history(message_id)
    if history is None:
        abort(404)
    return render_template("admin/message.html", history=history, labels=EVENT_LABELS)


@bp.get("/audit.csv")
def export_audit():
    """Stream the whole audit log as CSV; the export itself is audited first."""
    record_audit(g.admin.address or g.admin.object_id, "audit_export", None)
    db.session.commit()
    filename = f"mailgrip-audit-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.csv"
    return Response(
        stream_with_context(iter_audit_csv()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    """Show the sign-in page, and in the demo sign in with a username and a password."""
    settings = current_settings()
    if request.method == "GET" or not settings.demo_signin:
        return render_template("admin/signin.html", demo=settings.demo_signin, error=None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _signin_failed(_("Enter your username and your password."), 400)
    try:
        granted = acquire_demo_api_token(services().session, settings, username, password)
        admin = admin_from_token(granted.access_token)
    except PasswordGrantFailed as failure:
        log.warning(
            "Admin demo sign-in for %r failed: error=%s correlation_id=%s",
            username,
            failure.error,
            failure.correlation_id,
        )
        return _signin_failed(_("The username or password is incorrect."), 401)
    except NotAdmin:
        return _signin_failed(_NOT_ADMIN_MESSAGE, 403)
    start_session(admin)
    db.session.commit()
    return redirect(url_for(".index"))


_NOT_ADMIN_MESSAGE = lazy_gettext("This account may not use the admin page.")
_UNAVAILABLE_MESSAGE = lazy_gettext(
    "The Microsoft sign-in service could not be reached. Try again in a few minutes."
)


# A link and not a form starts the flow, because the admin page's form-action 'self' policy
# would stop a form whose response redirects to the identity platform.
@bp.get("/signin/microsoft")
def start_microsoft_signin():
    """Send the browser to the identity platform's sign-in page with a new flow."""
    try:
        return redirect(begin_signin())
    except SignInUnavailable:
        return _signin_failed(_UNAVAILABLE_MESSAGE, 503)


@bp.get("/signin/callback")
def finish_microsoft_signin():
    """Redeem the authorization response and start an admin session for an admin.

    Every failure shows the sign-in page with its reason. The status is 400 for a response
    that matches no flow of this browser and 401 for an error of the identity platform. It
    is 403 for an account without the admin role, and 503 when the token endpoint cannot be
    reached.
    """
    try:
        admin = finish_signin(request.args.to_dict())
    except SignInExpired:
        return _signin_failed(
            _("This sign-in has expired or was already used. Sign in again."), 400
        )
    except SignInRejected as rejection:
        return _signin_failed(
            _(
                "Microsoft sign-in failed (%(error)s): %(description)s",
                error=rejection.error,
                description=rejection.description,
            ),
            401,
        )
    except SignInUnavailable:
        return _signin_failed(_UNAVAILABLE_MESSAGE, 503)
    except NotAdmin:
        return _signin_failed(_NOT_ADMIN_MESSAGE, 403)
    start_session(admin)
    db.session.commit()
    return redirect(url_for(".index"))


def _signin_failed(message: str, status: int):
    settings = current_settings()
    page = render_template("admin/signin.html", demo=settings.demo_signin, error=message)
    return page, status


# Sign-in with a bearer token needs no cookie, so it is exempt from the CSRF check. A
# cross-site page cannot set an Authorization header without a CORS preflight, which fails
# because Mailgrip sends no CORS headers, and the Origin check below rejects other origins.
@bp.post("/session")
def start_session_with_token():
    """Start an admin session from an ``Authorization: Bearer`` token with the admin role.

    :raise 404: the token is missing, invalid or lacks the role.
    :raise 403: the request comes from another origin than Mailgrip's.
    """
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        abort(403)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(404)
    try:
        admin = admin_from_token(token.strip())
    except NotAdmin:
        abort(404)
    start_session(admin)
    db.session.commit()
    return current_app.response_class(status=204)


@bp.post("/signout")
def signout():
    """End the admin session (a CSRF-protected form)."""
    end_session()
    db.session.commit()
    return redirect(url_for(".signin"))
