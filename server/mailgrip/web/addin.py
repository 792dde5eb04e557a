"""The files Outlook loads for the add-in: the launch-event runtime page, its script and icons."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from ..settings import current_settings
from .taskpane_libraries import office_js_url

# This file is <repo>/server/mailgrip/web/addin.py, and the add-in's files live in <repo>/addin.
ADDIN_DIR = Path(
    os.environ.get("MAILGRIP_ADDIN_DIR") or Path(__file__).resolve().parents[3] / "addin"
).resolve()


_ICON_NAMES = frozenset(f"icon-{size}.png" for size in (16, 32, 64, 80, 128))

bp = Blueprint("addin", __name__, url_prefix="/addin", template_folder=str(ADDIN_DIR))


@lru_cache(maxsize=1)
def _bundle(signature: tuple[tuple[str, int, int], ...]) -> tuple[str, str]:
    # The file names, mtimes and sizes are the cache key, so an edited file is read again.
    names = [entry[0] for entry in signature]
    sources = [(ADDIN_DIR / "src" / name).read_text(encoding="utf-8") for name in names]
    text = "\n".join(sources)
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


def script_bundle() -> tuple[str, str]:
    """Return the launch-event script (the files of ``src/bundle.json`` in order) and its hash.

    Classic Outlook loads one JavaScript file for the runtime, so the sources are joined.
    """
    names = json.loads((ADDIN_DIR / "src" / "bundle.json").read_text(encoding="utf-8"))
    signature = []
    for name in names:
        stat = (ADDIN_DIR / "src" / name).stat()
        signature.append((name, stat.st_mtime_ns, stat.st_size))
    return _bundle(tuple(signature))


def _runtime_config() -> dict[str, Any]:
    """Return what the handlers need from this server: where the API is, policy, messages."""
    return {
        # Classic Outlook's JavaScript runtime has no page URL to resolve a relative URL against.
        "apiUrl": request.url_root.rstrip("/") + "/api",
        "outagePolicy": current_settings().outage_policy,
        "messages": {
            "blockTitle": _("Secure files"),
            "blockIntro": _("The files of this message are shared through a secure link:"),
            "openLink": _("Open the secure files"),
            "uploading": _("Uploading {name} to Mailgrip: {percent}%"),
            "cloudNotManaged": _(
                "Mailgrip does not manage cloud attachments; they are sent as links: {names}"
            ),
            "refusedUnavailable": _(
                "Mailgrip could not be reached, so this message was not sent: files may leave "
                "only as a secure link. Try again in a minute, or remove the attachments."
            ),
            "refusedSignIn": _(
                "Signing in to Mailgrip failed, so this message was not sent: files may leave "
                "only as a secure link. Open Mailgrip's pane to sign in, then send again."
            ),
            "refusedRejected": _(
                "Mailgrip did not accept the attachments: {reason} Remove or change them, then "
                "send again."
            ),
            "refusedOutlook": _(
                "Outlook could not replace the attachments with a secure link ({reason}). Try "
                "sending again."
            ),
        },
    }


def _configured_script() -> tuple[str, str]:
    """Return the script with this request's settings in front of it, and its version.

    The version covers the settings and the messages' language too, because a browser keeps a
    versioned copy for a year. A changed outage policy therefore reaches the add-in under a new
    URL.
    """
    text = script_bundle()[0]
    config = json.dumps(_runtime_config(), ensure_ascii=False)
    script = f"globalThis.MAILGRIP_CONFIG = {config};\n{text}"
    return script, hashlib.sha256(script.encode()).hexdigest()[:16]


@bp.get("/commands.html")
def commands_page():
    """Render the page that runs the launch-event handlers in Outlook's browser runtimes."""
    version = _configured_script()[1]
    page = render_template(
        "commands.html",
        locale=str(get_locale()),
        # Microsoft's CDN by default, as AppSource requires; MAILGRIP_OFFICE_JS=local serves
        # the npm copy, as for the task pane.
        office_js_url=office_js_url(),
        script_url=url_for(".launch_event_script", v=version),
    )
    response = current_app.make_response(page)
    # The page names the versioned script URL, so a cached copy could run a previous release.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/launchevent.js")
def launch_event_script():
    """Serve the handlers with this server's settings in front of them.

    The manifest names this URL without a version for classic Outlook, which must revalidate
    it. The page names it with ``v``, and that copy may be kept for a year.
    """
    script, version = _configured_script()
    response = current_app.make_response(script)
    response.mimetype = "text/javascript"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.args.get("v") == version:
        response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
        response.add_etag()
        response.make_conditional(request)
    return response


@bp.get("/assets/<name>")
def icon(name: str):
    """Serve an icon named in the manifest.

    :raise 404: ``name`` is not one of the icons.
    """
    if name not in _ICON_NAMES:
        abort(404)
    response = send_from_directory(ADDIN_DIR / "assets", name, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
