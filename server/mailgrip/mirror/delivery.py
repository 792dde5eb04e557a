"""Delivery states of recipients and the rule that decides which source's state is kept."""

from __future__ import annotations

import logging
from datetime import datetime

from ..text import remove_control_characters
from .models import Recipient

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
QUARANTINED = "quarantined"
FILTERED_AS_SPAM = "filteredAsSpam"
EXPANDED = "expanded"

# Message trace's statuses, spelled as Graph spells them, except "unknown": no source has
# reported yet. "expanded" is a distribution list, whose members are not recipients here.
STATES = (UNKNOWN, PENDING, DELIVERED, FAILED, QUARANTINED, FILTERED_AS_SPAM, EXPANDED)
FINAL_STATES = frozenset({DELIVERED, FAILED, QUARANTINED, FILTERED_AS_SPAM, EXPANDED})

SOURCE_TRACE = "trace"
SOURCE_REPORT = "ndr"
SOURCES = (SOURCE_TRACE, SOURCE_REPORT)

# Diagnostic texts of remote servers can run to many lines; the pane shows a sentence or two.
MAX_DETAIL_CHARS = 2000


def is_final(state: str) -> bool:
    return state in FINAL_STATES


def reported_time(reported: datetime | None, sent_at: datetime | None, now: datetime) -> datetime:
    """Return when a source reports the recipient's state changed, kept between sending and now.

    Tracking times requests from this moment, so it must be the source's own time, not the
    time Mailgrip read it. A time before the message was sent or after ``now`` comes from a
    clock that is off and is moved to that bound. ``now`` wins when ``sent_at`` is later.

    :param reported: the source's time; None (missing or invalid) gives ``now``.
    """
    if reported is None:
        return now
    if sent_at is not None:
        reported = max(reported, sent_at)
    return min(reported, now)


def record_delivery(
    recipient: Recipient,
    state: str,
    source: str,
    at: datetime,
    detail: str | None = None,
) -> bool:
    """Store a state that a source reported for the recipient, unless a stronger one is kept.

    A failure from a non-delivery report is never replaced, because the report is the
    receiving side's own word, while message trace's "delivered" for an outside address only
    means that the next server accepted the message. A final state never goes back to a
    pending one. A report's "delayed" or "delivered" does not replace message trace's word.

    :return: whether the recipient changed.
    """
    if state not in STATES or state == UNKNOWN:
        raise ValueError(f"delivery state {state!r} is invalid; use one of {', '.join(STATES)}")
    current, current_source = recipient.delivery_state, recipient.delivery_source
    cleaned = _clean_detail(detail)
    if current == state and current_source == source:
        if cleaned and cleaned != recipient.delivery_detail:
            recipient.delivery_detail = cleaned
            return True
        return False
    if current_source == SOURCE_REPORT and current == FAILED:
        return False
    if is_final(current) and not is_final(state):
        return False
    if source == SOURCE_REPORT and state != FAILED and current_source == SOURCE_TRACE:
        return False
    log.info(
        "Recipient %s of message %s: %s (%s) becomes %s (%s)",
        recipient.id,
        recipient.message_id,
        current,
        current_source,
        state,
        source,
    )
    recipient.delivery_state = state
    recipient.delivery_source = source
    recipient.delivery_at = at
    recipient.delivery_detail = cleaned
    return True


def _clean_detail(detail: str | None) -> str | None:
    if not detail:
        return None
    text = " ".join(remove_control_characters(detail, keep="\t\n").split())
    return text[:MAX_DETAIL_CHARS] or None
