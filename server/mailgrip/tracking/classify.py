"""Classification of tracking events: a person, a mail proxy, an automated scanner, or unknown."""

from __future__ import annotations

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
_SCANNER_MARKERS = (
    "bot",
    "crawler",
    "spider",
    "scanner",
    "headlesschrome",
    "python-requests",
    "python-urllib",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "okhttp",
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
    for marker in _SCANNER_MARKERS:
        if marker in agent:
            return SCANNER, [f"user agent contains {marker!r}"]
    if not agent:
        return UNKNOWN, ["no user agent"]
    if kind == "opened":
        # Mail clients and proxies also fetch images when nobody reads the message.
        return UNKNOWN, ["image fetched by an unrecognised client"]
    return PERSON, ["page fetched by a browser"]
