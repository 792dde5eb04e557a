"""Labels of a share's events as they stand now, with evidence that arrived after them.

An event's stored label was made when its request arrived. Two things can only be known
later. One is whether the portal page's script ran after a visit. The other is whether the
sender's task pane showed the message from the same network at that moment, because Outlook
shows the copy in Sent Items, images and all, right before the pane opens. This module weighs
both.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..db import db, utcnow
from .classify import PROXY, SENDER, classify
from .events import facts_of
from .models import SUPPORTING_KINDS, Event
from .visits import PAGE_SCRIPT_SECONDS

# An image fetch or visit this close to a load of the sender's pane, from the same network,
# is the sender's own view.
SENDER_VIEW_SECONDS = 120
FORWARDED = "forwarded"
RECIPIENT = "recipient"


@dataclass
class EvaluatedEvent:
    """An event with its label and reasons as they stand now, and who acted."""

    event: Event
    label: str
    reasons: list[str] = field(default_factory=list)
    # "recipient" (a verified recipient), "forwarded" (someone the message was not sent to),
    # "sender", or None when the request names no one.
    actor: str | None = None


def evaluate_events(share_id: str, now: datetime | None = None) -> list[EvaluatedEvent]:
    """Return the events of a share, oldest first, without the supporting kinds.

    :param now: the current time, which decides whether a visit's script had time to run.
    """
    now = now or utcnow()
    events = list(db.session.scalars(
        sa.select(Event).where(Event.share_id == share_id).order_by(Event.occurred_at, Event.id)
    ))
    confirmed = {
        e.detail.get("visit") for e in events if e.kind == "page_script_ran" and e.detail
    }
    sender_views = [e for e in events if e.kind == "sender_viewed"]
    return [
        _evaluate(event, now, confirmed, sender_views)
        for event in events
        if event.kind not in SUPPORTING_KINDS
    ]


def _evaluate(
    event: Event, now: datetime, confirmed: set, sender_views: list[Event]
) -> EvaluatedEvent:
    label = event.classification
    reasons = list(event.classification_reasons or [])
    if event.kind == "link_opened" and label not in (SENDER, PROXY):
        script_ran = _script_ran(event, now, confirmed)
        facts = facts_of(event, script_ran)
        if facts is not None and script_ran is not None:
            weighed = classify(facts)
            label, reasons = weighed.label, weighed.reasons
    if label != SENDER and event.kind in ("opened", "link_opened"):
        view = _nearby_sender_view(event, sender_views)
        if view is not None:
            label = SENDER
            reasons = ["from the network of the sender's task pane, which showed this "
                       f"message {_distance(event, view)}"]
    return EvaluatedEvent(event, label, reasons, _actor(event, label))


def _script_ran(event: Event, now: datetime, confirmed: set) -> bool | None:
    if event.id in confirmed:
        return True
    if (event.request_facts or {}).get("method") != "GET":
        return None
    if now - event.occurred_at > timedelta(seconds=PAGE_SCRIPT_SECONDS):
        return False
    return None


def _nearby_sender_view(event: Event, sender_views: list[Event]) -> Event | None:
    """Return a load of the sender's pane close in time to ``event`` from the same network.

    Private and loopback networks never match, because behind a reverse proxy that does not
    pass the client's address every request comes from one private address.
    """
    if event.ip_prefix is None or _is_private(event.ip_prefix):
        return None
    window = timedelta(seconds=SENDER_VIEW_SECONDS)
    for view in sender_views:
        close = abs(view.occurred_at - event.occurred_at) <= window
        if close and view.ip_prefix == event.ip_prefix:
            return view
    return None


def _is_private(ip_prefix: str) -> bool:
    try:
        network = ipaddress.ip_network(ip_prefix, strict=False)
    except ValueError:
        return True
    return network.is_private or network.is_loopback


def _distance(event: Event, view: Event) -> str:
    seconds = round((view.occurred_at - event.occurred_at).total_seconds())
    if seconds >= 0:
        return f"{seconds} s later"
    return f"{-seconds} s earlier"


def _actor(event: Event, label: str) -> str | None:
    if label == SENDER:
        return SENDER
    if event.kind == "verification_refused":
        return FORWARDED
    if event.recipient_id is not None:
        return RECIPIENT
    return None
