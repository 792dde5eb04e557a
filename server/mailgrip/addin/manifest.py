"""Rendering the Outlook add-in's XML manifest for one deployment."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

# SendMode of the OnMessageSend launch event ([MS-OWEMXML] 2.3.67 LaunchEventSendMode).
# PromptUser lets the user send anyway. SoftBlock lets the add-in decide, and sends when the
# add-in is unavailable. Block also blocks the send when the add-in fails or is unavailable.
SEND_MODES = ("PromptUser", "SoftBlock", "Block")

# The committed manifest.xml is this render, for sideloading against `mailgrip demo --https`.
# The client id is the one of Mailgrip's app in the Microsoft 365 emulator (emulator/).
DEV_BASE_URL = "https://localhost:3000"
DEV_CLIENT_ID = "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607"

# Outlook limits ShortStrings to 125 characters and LongStrings to 250.
_SHORT_STRINGS = {
    "Group.Label": {"en": "Mailgrip", "nl": "Mailgrip"},
    "TrackingButton.Label": {"en": "Tracking & blocking", "nl": "Volgen & blokkeren"},
}
_LONG_STRINGS = {
    "Addin.Description": {
        "en": "Sends attachments as secure links and shows who opened and downloaded them.",
        "nl": "Verstuurt bijlagen als beveiligde links en toont wie ze opende en downloadde.",
    },
    "TrackingButton.Tooltip": {
        "en": "See who received, opened and downloaded this message's files, and block access.",
        "nl": "Bekijk wie de bestanden van dit bericht ontving, opende en downloadde, en "
        "blokkeer de toegang.",
    },
}


# The characters that RFC 3986 allows in a URI: unreserved, reserved and percent signs.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


class ManifestError(ValueError):
    """A value given for the manifest cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class ManifestOptions:
    """The values that differ between deployments of the manifest."""

    base_url: str
    client_id: str
    addin_id: str
    send_mode: str = "SoftBlock"


def render_manifest(options: ManifestOptions) -> str:
    """Render the manifest XML after checking every option.

    :raise ManifestError: an option is invalid.
    """
    base_url = check_base_url(options.base_url)
    client_id = check_guid(options.client_id, "--client-id")
    addin_id = check_guid(options.addin_id, "the add-in id (MAILGRIP_ADDIN_ID)")
    if options.send_mode not in SEND_MODES:
        raise ManifestError(
            f"--send-mode {options.send_mode!r} is not valid; use one of {', '.join(SEND_MODES)}."
        )
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    template = environment.get_template("manifest.xml.j2")
    return template.render(
        base_url=base_url,
        host=urlsplit(base_url).netloc,
        client_id=client_id,
        addin_id=addin_id,
        send_mode=options.send_mode,
        version=_manifest_version(),
        strings={"description": _LONG_STRINGS["Addin.Description"]},
        short_strings=sorted(_SHORT_STRINGS.items()),
        long_strings=sorted(_LONG_STRINGS.items()),
    )


def check_base_url(raw: str) -> str:
    """Return the base URL without a trailing slash.

    :raise ManifestError: it is not an absolute https:// URL without query or fragment, which
        Outlook requires of every add-in URL.
    """
    parts = urlsplit(raw.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(
            f"--base-url {raw!r} is not valid: Outlook loads add-ins only over HTTPS, so give "
            "an absolute https:// URL such as https://mailgrip.example.org."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ManifestError(
            f"--base-url {raw!r} is not valid: give the address without user, query or "
            "fragment, such as https://mailgrip.example.org."
        )
    if not _URL_CHARACTERS.fullmatch(raw.strip()):
        raise ManifestError(
            f"--base-url {raw!r} is not valid: a URL contains no spaces, quotes or angle "
            "brackets. Percent-encode such characters, and write an international domain name "
            "in its xn-- form."
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ManifestError(
            f"--base-url {raw!r} is not valid: the port must be a number from 1 to 65535."
        )
    return raw.strip().rstrip("/")


def check_guid(raw: str, name: str) -> str:
    """Return ``raw`` as a lower-case GUID.

    :raise ManifestError: it is not a GUID in the 8-4-4-4-12 form that Azure shows.
    """
    value = raw.strip()
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        parsed = None
    if parsed is None or len(value) != 36:
        raise ManifestError(
            f"{name} {raw!r} is not a GUID; copy the Application (client) ID from the app "
            "registration in the Azure portal, such as 6e2f8a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b."
        )
    return str(parsed)


def _manifest_version() -> str:
    # The manifest's Version has four numeric parts; the package's has three.
    parts = [part for part in package_version("mailgrip").split(".") if part.isdigit()]
    return ".".join((parts + ["0", "0", "0", "0"])[:4])
