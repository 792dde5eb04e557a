"""Reading a User-Agent header: crawlers from a maintained list, browsers and mail clients.

Crawler patterns come from the crawler-user-agents project (PyPI package
``crawler-user-agents``), so new bots arrive with a package update instead of a hand edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import crawleruseragents

# Mail security gateways that name themselves but are missing from crawler-user-agents 1.67.
# Senders' field guides to scanner clicks report these names in user agents: Barracuda,
# Proofpoint URL Defense, Mimecast, Cisco Secure Email (IronPort), Trend Micro Email Security
# ("TMES"), FortiMail and Sophos.
_SECURITY_PRODUCTS = re.compile(
    r"barracuda|proofpoint|mimecast|ciscosecureemail|ironport|\bTMES\b|fortimail|sophos",
    re.IGNORECASE,
)
# Office checks a link before it opens the browser ("Microsoft Office Existence Discovery",
# "ms-office; MSOffice 16"), and Safe Links' time-of-click check reports the same family.
OFFICE_PROBE = re.compile(r"existence discovery|\bms-office\b|\bmsoffice \d", re.IGNORECASE)
# Mail clients that fetch images themselves, from the reader's device.
_MAIL_CLIENTS = re.compile(
    r"thunderbird/|microsoft outlook|outlook-(?:ios|android)|\bms-office\b|msoffice \d|"
    r"windows-mail|airmail|spark/|\bmailbird",
    re.IGNORECASE,
)
_BROWSER = re.compile(
    r"^Mozilla/5\.0 \([^)]+\) .*(?:Chrome|Firefox|Safari|Edg|OPR|CriOS|FxiOS|Version)/\d+"
)
# Apple Mail on macOS and iOS renders with WebKit and, unlike Safari, sends no "Version/…
# Safari/…" token: "… AppleWebKit/605.1.15 (KHTML, like Gecko)" with an optional "Mobile/…".
APPLE_MAIL = re.compile(
    r"^Mozilla/5\.0 \((?:Macintosh|iPhone|iPad)[^)]*\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\)"
    r"(?: Mobile/\w+)?$"
)
# A header with no product of its own, such as the bare "Mozilla/5.0" of some fetchers.
_GENERIC = re.compile(r"^Mozilla/\d\.\d$")
# Browsers too old for anyone to read mail with in 2026, as security sandboxes often claim:
# Windows XP to 7, Internet Explorer, Chrome before 80 and Firefox before 70 (both 2019-2020).
_OUTDATED = re.compile(
    r"Windows NT (?:5\.\d|6\.[01])\b|MSIE \d|Trident/|Chrome/(?:[1-7]?\d)\.|Firefox/(?:[1-6]?\d)\b"
)


@dataclass(frozen=True)
class AgentFacts:
    """Facts about a client, read from the User-Agent header it sent."""

    crawler: str | None  # the crawler-user-agents pattern or product name that matched
    browser: bool
    mail_client: bool
    apple_mail: bool
    outdated: bool
    generic: bool
    missing: bool


@lru_cache(maxsize=4096)
def read_user_agent(user_agent: str | None) -> AgentFacts:
    """Return what ``user_agent`` reveals; the result is cached because headers repeat."""
    agent = (user_agent or "").strip()
    if not agent:
        return AgentFacts(None, False, False, False, False, False, True)
    return AgentFacts(
        crawler=_crawler_pattern(agent),
        browser=bool(_BROWSER.search(agent)),
        mail_client=bool(_MAIL_CLIENTS.search(agent)) or bool(APPLE_MAIL.search(agent)),
        apple_mail=bool(APPLE_MAIL.search(agent)),
        outdated=bool(_OUTDATED.search(agent)),
        generic=bool(_GENERIC.fullmatch(agent)),
        missing=False,
    )


def _crawler_pattern(agent: str) -> str | None:
    """Return the listed pattern or product name that ``agent`` matches, else None."""
    product = _SECURITY_PRODUCTS.search(agent)
    if product:
        return product.group(0)
    if not crawleruseragents.is_crawler(agent):
        return None
    for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA:
        if re.search(entry["pattern"], agent):
            return entry["pattern"]
    return None
