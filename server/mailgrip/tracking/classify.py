"""Classification of tracking events: a person, a mail proxy, an automated scanner, or unknown."""

from __future__ import annotations

import re

PERSON = "person"
PROXY = "proxy"
SCANNER = "scanner"
UNKNOWN = "unknown"
LABELS = (PERSON, PROXY, SCANNER, UNKNOWN)

# NOTE: a minimal rule set that only reads the user agent. Scanners that pose as browsers
# (Safe Links, Mimecast, Proofpoint) and Apple Mail Privacy Protection, which fetches with a
# generic user agent from Apple's address ranges, are not recognised until the classifier
# also weighs IP ranges and timing.
_PROXY_MARKERS = (
    ("googleimageproxy", "Gmail image proxy"),
    ("yahoomailproxy", "Yahoo Mail image proxy"),
)
# Each marker must appear as a product name or a word of its own, so that a name which only
# contains the letters, such as the CUBOT phone in "Android 11; CUBOT X50", does not match.
_SCANNER_MARKERS = (
    # "bot" as a word of its own, or ending a product name. Such a name is followed by a
    # version ("Googlebot/2.1", "Slackbot 1.0"), a subtype ("AdsBot-Google"), the end of a
    # comment ("like TwitterBot)") or the end of the header.
    ("bot", re.compile(r"bot(?=[/;)-]|\s*$|\s+[\d(])|\bbot\b")),
    ("crawler", re.compile(r"crawler\b")),
    ("spider", re.compile(r"spider\b")),
    ("scanner", re.compile(r"\bscanner\b")),
    ("headlesschrome", re.compile(r"\bheadlesschrome/")),
    ("python-requests", re.compile(r"\bpython-requests/")),
    ("python-urllib", re.compile(r"\bpython-urllib/")),
    ("curl/", re.compile(r"curl/")),
    ("wget/", re.compile(r"\bwget/")),
    ("go-http-client", re.compile(r"\bgo-http-client/")),
    ("java/", re.compile(r"\bjava/")),
    ("okhttp", re.compile(r"\bokhttp/")),
)


def classify(kind: str, method: str | None, user_agent: str | None) -> tuple[str, list[str]]:
    """Return the label of one event and the reasons for it.

    :param kind: the event kind, one of ``tracking.models.EVENT_KINDS``.
    :param method: the HTTP method of the request, None outside a request.
    :param user_agent: the request's User-Agent header.
    :return: ``(label, reasons)`` with ``label`` one of ``LABELS``.
    """
    if method is None:
        return UNKNOWN, ["recorded outside an HTTP request"]
    # Portal forms carry a CSRF token from the page, which link scanners do not submit.
    if method == "POST":
        return PERSON, ["form submitted from the portal page"]

    agent = (user_agent or "").lower()
    for marker, name in _PROXY_MARKERS:
        if marker in agent:
            return PROXY, [f"user agent of the {name}"]
    for marker, pattern in _SCANNER_MARKERS:
        if pattern.search(agent):
            return SCANNER, [f"user agent contains {marker!r}"]
    if not agent:
        return UNKNOWN, ["no user agent"]
    if kind == "opened":
        # Mail clients and proxies also fetch images when nobody reads the message.
        return UNKNOWN, ["image fetched by an unrecognised client"]
    return PERSON, ["page fetched by a browser"]
