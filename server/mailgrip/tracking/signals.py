"""The signals that tell a person from a mail proxy or a scanner, one function per signal.

Each function reads the facts of one request and returns the signals it finds. A signal
points to a person, to an automated client, or to a mail proxy, with a weight and a reason
that the sender can read. ``classify`` weighs them together.
"""

from __future__ import annotations

from dataclasses import dataclass

from .agents import OFFICE_PROBE, read_user_agent
from .proxies import provider_network, proxy_agent

PERSON = "person"
AUTOMATED = "automated"
PROXY = "proxy"

IMAGE_KINDS = frozenset({"opened"})
PAGE_KINDS = frozenset({"link_opened"})
# Kinds recorded from a form that the portal page posts with its CSRF token.
FORM_KINDS = frozenset({
    "code_sent", "verification_refused", "verification_failed", "verified", "downloaded",
    "download_denied", "page_script_ran",
})

# Security gateways check links and render messages while they deliver them, so within the
# first minute a fetch is far more often theirs than a reader's.
FAST_SECONDS = 60
# Apple Mail Privacy Protection fetches every image when the device receives the message.
PREFETCH_SECONDS = 120
# Scanners fetch every link and image of a message at once; readers do one thing at a time.
BURST_SECONDS = 10


@dataclass(frozen=True)
class RequestFacts:
    """The facts of one request that the classifier weighs."""

    kind: str  # the event kind the request records
    method: str | None  # None when recorded outside an HTTP request
    user_agent: str | None = None
    ip_prefix: str | None = None
    # Seconds from delivery (or from sending while delivery is unknown) to the request.
    seconds_since_delivery: float | None = None
    # Other image or page fetches of the same message from the same network within
    # BURST_SECONDS before this one.
    recent_requests: int = 0
    # Whether the portal page's script ran after this visit; None when not known (yet).
    script_ran: bool | None = None
    sender: bool = False  # the request carried the sender's own marker


@dataclass(frozen=True)
class Signal:
    """One piece of evidence: what it points to, how strongly, and why."""

    points_to: str  # PERSON, AUTOMATED or PROXY
    weight: int
    reason: str


def user_agent_signals(facts: RequestFacts) -> list[Signal]:
    """Weigh the User-Agent header against the crawler list and known clients."""
    agent = read_user_agent(facts.user_agent)
    if proxy_agent(facts.user_agent):
        return []  # proxy_signals names it
    if agent.missing:
        return [Signal(AUTOMATED, 2, "no user agent, which browsers and mail clients send")]
    if agent.crawler:
        return [Signal(AUTOMATED, 5, f"user agent of a known bot or gateway ({agent.crawler})")]
    signals = []
    if facts.kind in PAGE_KINDS and OFFICE_PROBE.search(facts.user_agent or ""):
        signals.append(Signal(AUTOMATED, 3, "Office checking the link before it opens it"))
    elif agent.mail_client:
        signals.append(Signal(PERSON, 1, "user agent of a mail client"))
    elif agent.browser:
        signals.append(Signal(PERSON, 1, "user agent of a browser"))
    if agent.generic:
        signals.append(Signal(AUTOMATED, 2, "user agent names no browser or mail client"))
    if agent.outdated:
        signals.append(Signal(AUTOMATED, 1, "user agent of a browser years out of date"))
    return signals


def method_signals(facts: RequestFacts) -> list[Signal]:
    """Weigh the HTTP method: HEAD only probes, and a form POST needs the page's token."""
    if facts.method == "HEAD":
        return [Signal(AUTOMATED, 3, "HEAD request, which only checks that the link works")]
    if facts.method == "POST" and facts.kind in FORM_KINDS:
        return [Signal(PERSON, 3, "form submitted from the portal page")]
    return []


def timing_signals(facts: RequestFacts) -> list[Signal]:
    """Weigh the time since delivery: gateways act while they deliver."""
    seconds = facts.seconds_since_delivery
    if seconds is None or seconds >= FAST_SECONDS:
        return []
    weight = 1 if facts.kind in IMAGE_KINDS else 2
    if seconds < 0:
        return [Signal(AUTOMATED, weight, "fetched before the message was delivered")]
    return [Signal(AUTOMATED, weight,
                   f"fetched {seconds:.0f} s after delivery, when gateways check messages")]


def burst_signals(facts: RequestFacts) -> list[Signal]:
    """Weigh other fetches of the same message from the same network seconds before."""
    if facts.method == "POST" or facts.recent_requests <= 0:
        return []
    weight = 2 if facts.recent_requests >= 2 else 1
    return [Signal(AUTOMATED, weight,
                   f"{facts.recent_requests} other fetches of this message from the same "
                   f"network within {BURST_SECONDS} s")]


def script_signals(facts: RequestFacts) -> list[Signal]:
    """Weigh whether the portal page's script ran, which most link checkers never do."""
    if facts.script_ran is True:
        return [Signal(PERSON, 2, "the portal page's script ran in the visitor's browser")]
    if facts.script_ran is False:
        return [Signal(AUTOMATED, 1, "the portal page's script never ran")]
    return []


def network_signals(facts: RequestFacts) -> list[Signal]:
    """Weigh a request from a mail or security provider's own network."""
    network = provider_network(facts.ip_prefix)
    if network is None or network.role != "gateway":
        return []
    return [Signal(AUTOMATED, 2, f"sent from the network of {network.owner}")]


def proxy_signals(facts: RequestFacts) -> list[Signal]:
    """Find a mail proxy: a known proxy user agent, or Apple Mail Privacy Protection.

    Privacy Protection fetches with Apple Mail's user agent (or a bare "Mozilla/5.0") from
    Apple's network as soon as the device receives the message, whether or not it is read.
    """
    name = proxy_agent(facts.user_agent)
    if name:
        return [Signal(PROXY, 5, f"user agent of {name}")]
    if facts.kind not in IMAGE_KINDS:
        return []
    agent = read_user_agent(facts.user_agent)
    network = provider_network(facts.ip_prefix)
    if network is not None and network.role == "proxy" and not agent.crawler:
        return [Signal(PROXY, 5, f"image fetched from the network of {network.owner}")]
    seconds = facts.seconds_since_delivery
    if agent.apple_mail and seconds is not None and seconds < PREFETCH_SECONDS:
        return [Signal(PROXY, 5, f"Apple Mail fetched the image {seconds:.0f} s after "
                                 "delivery, as Mail Privacy Protection does for every message")]
    return []


SIGNAL_FUNCTIONS = (
    proxy_signals,
    user_agent_signals,
    method_signals,
    timing_signals,
    burst_signals,
    script_signals,
    network_signals,
)


def collect_signals(facts: RequestFacts) -> list[Signal]:
    """Return every signal that ``facts`` shows, in the order of ``SIGNAL_FUNCTIONS``."""
    return [signal for function in SIGNAL_FUNCTIONS for signal in function(facts)]
