"""Browser libraries from npm that the task pane loads from Mailgrip: Office.js, msal, Fluent UI.

Each file is served under a URL that names its package's version, and a file does not change
within a version, so browsers may keep it for a year. A release that upgrades a package
changes the URL, and the pane page (never cached) names the new one. Office.js loads its
host-specific and locale files relative to its own URL, so the version sits in the path
rather than in a query string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, send_from_directory, url_for
from flask.blueprints import BlueprintSetupState

from ..config import ConfigError
from ..settings import current_settings
from .taskpane_files import TASKPANE_DIR

NODE_MODULES = TASKPANE_DIR / "node_modules"
OFFICE_JS_CDN_ORIGIN = "https://appsforoffice.microsoft.com"
OFFICE_JS_CDN = f"{OFFICE_JS_CDN_ORIGIN}/lib/1/hosted/office.js"
_IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Library:
    """An npm package whose folder of browser files Mailgrip serves."""

    package: str
    folder: str

    @property
    def root(self) -> Path:
        return NODE_MODULES / self.package / self.folder


LIBRARIES = {
    "office-js": Library("@microsoft/office-js", "dist"),
    "msal-browser": Library("@azure/msal-browser", "lib"),
    "fluentui": Library("@fluentui/web-components", "dist"),
    "fluentui-tokens": Library("@fluentui/tokens", "lib"),
}

bp = Blueprint("taskpane_libraries", __name__, url_prefix="/taskpane/lib")


@bp.record_once
def _check_installed(state: BlueprintSetupState) -> None:
    """Refuse to start when a package is missing, instead of serving a pane that cannot load.

    :raise ConfigError: a package folder is missing from ``taskpane/node_modules``.
    """
    missing = [lib.package for lib in LIBRARIES.values() if not lib.root.is_dir()]
    if missing:
        raise ConfigError(
            f"The task pane's browser libraries are missing from {NODE_MODULES}: "
            f"{', '.join(missing)}. Run `npm ci` in {TASKPANE_DIR} (`make` does it)."
        )


@cache
def package_version(name: str) -> str:
    """Return the installed version of a library, read once from its ``package.json``."""
    library = LIBRARIES[name]
    manifest = NODE_MODULES / library.package / "package.json"
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


def library_url(name: str, filename: str) -> str:
    """Return the versioned URL of one file of a library."""
    return url_for(
        "taskpane_libraries.file", name=name, version=package_version(name), filename=filename
    )


def office_js_url() -> str:
    """Return where the pane loads Office.js from, as ``MAILGRIP_OFFICE_JS`` chooses."""
    if current_settings().office_js == "local":
        return library_url("office-js", "office.js")
    return OFFICE_JS_CDN


@bp.app_context_processor
def _library_urls() -> dict[str, Any]:
    return {"library_url": library_url, "office_js_url": office_js_url}


@bp.get("/<name>/<version>/<path:filename>")
def file(name: str, version: str, filename: str):
    """Serve a file of an installed library under its version.

    :raise 404: unknown library, another version than the installed one, or no such file.
    """
    if name not in LIBRARIES or version != package_version(name):
        abort(404)
    response = send_from_directory(LIBRARIES[name].root, filename, max_age=0)
    response.headers["Cache-Control"] = _IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
