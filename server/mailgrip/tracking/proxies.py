"""Known mail proxies and the networks of mail and security providers.

A mail proxy fetches images on the reader's behalf: it proves that the message reached a
mailbox, not that anyone read it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# User-agent signatures that senders have reported for years: Gmail appends "(via ggpht.com
# GoogleImageProxy)" to an old Firefox string, and Yahoo sends "YahooMailProxy". The last
# entry contains the other image proxies that crawler-user-agents 1.67 lists.
_PROXY_AGENTS = (
    (re.compile(r"GoogleImageProxy|ggpht\.com", re.IGNORECASE), "the Gmail image proxy"),
    (re.compile(r"YahooMailProxy", re.IGNORECASE), "the Yahoo Mail image proxy"),
    (re.compile(r"Slack-ImgProxy|FlipboardProxy|StartpagePrivateImageProxy", re.IGNORECASE),
     "an image proxy"),
)


@dataclass(frozen=True)
class Network:
    """An address range that a provider runs, and what its requests mean."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    owner: str
    role: str  # "proxy": fetches images for readers; "gateway": checks mail for a provider


# NOTE: a short list of ranges that senders' reports tie to these services (2025-2026 posts
# on Apple Mail Privacy Protection and on Defender for Office 365 click patterns). Providers
# change ranges, so a request from elsewhere is judged by the other signals only.
NETWORKS = (
    # Apple owns 17.0.0.0/8, and Mail Privacy Protection relays fetch from it.
    Network(ipaddress.ip_network("17.0.0.0/8"), "Apple Mail Privacy Protection", "proxy"),
    # Exchange Online and the Defender for Office 365 sandboxes that open every link.
    Network(ipaddress.ip_network("40.92.0.0/15"), "Microsoft Exchange Online", "gateway"),
    Network(ipaddress.ip_network("52.96.0.0/12"), "Microsoft Exchange Online", "gateway"),
    Network(ipaddress.ip_network("2a01:111::/32"), "Microsoft Exchange Online", "gateway"),
)


def proxy_agent(user_agent: str | None) -> str | None:
    """Return the name of the mail proxy that ``user_agent`` belongs to, else None."""
    for pattern, name in _PROXY_AGENTS:
        if user_agent and pattern.search(user_agent):
            return name
    return None


def provider_network(ip_prefix: str | None) -> Network | None:
    """Return the known provider network that contains ``ip_prefix`` (a stored prefix)."""
    if not ip_prefix:
        return None
    try:
        prefix = ipaddress.ip_network(ip_prefix, strict=False)
    except ValueError:
        return None
    for entry in NETWORKS:
        if prefix.version == entry.network.version and prefix.subnet_of(entry.network):
            return entry
    return None
