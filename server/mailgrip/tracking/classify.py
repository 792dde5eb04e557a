"""Labels of tracking events: a person, a mail proxy, a scanner, the sender, or unknown.

The label weighs every signal of ``signals`` together. A mail proxy is named by a signature
of its own. Otherwise the side with more weight wins, but "scanner" needs a weight of at
least 3, so that no single weak hint (a fast click, an old browser) makes one. When neither
side wins the label is ``unknown``: the request could be a person or a machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from .signals import AUTOMATED, RequestFacts, collect_signals
from .signals import PROXY as PROXY_SIGNAL

PERSON = "person"
PROXY = "proxy"
SCANNER = "scanner"
SENDER = "sender"
UNKNOWN = "unknown"
LABELS = (PERSON, PROXY, SCANNER, SENDER, UNKNOWN)

MIN_SCANNER_WEIGHT = 3


@dataclass(frozen=True)
class Classification:
    """The label of one request and the reasons behind it."""

    label: str
    reasons: list[str]


def classify(facts: RequestFacts) -> Classification:
    """Label one request from all its signals.

    :return: a ``Classification`` whose label is one of ``LABELS``.
    """
    if facts.method is None:
        return Classification(UNKNOWN, ["recorded outside an HTTP request"])
    if facts.sender:
        return Classification(SENDER, ["the request carried the sender's own marker"])

    signals = collect_signals(facts)
    reasons = [signal.reason for signal in signals]
    if any(signal.points_to == PROXY_SIGNAL for signal in signals):
        return Classification(PROXY, reasons)
    automated = sum(s.weight for s in signals if s.points_to == AUTOMATED)
    person = sum(s.weight for s in signals if s.points_to == PERSON)
    if automated >= MIN_SCANNER_WEIGHT and automated > person:
        return Classification(SCANNER, reasons)
    if person > automated:
        return Classification(PERSON, reasons)
    return Classification(UNKNOWN, reasons or ["no signal points either way"])
