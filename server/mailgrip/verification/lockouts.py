"""Lockouts: a recipient's code entries or requests stopped by a limit, recorded for the sender."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..db import db, utcnow
from ..mirror.models import Recipient
from ..shares.models import Share
from ..tracking.events import record_event
from ..tracking.models import Event

# One event per recipient and reason in this interval is enough for the sender to see a
# lockout, and keeps an attacker who keeps hitting a limit from adding events without end.
LOCKOUT_EVENT_INTERVAL = timedelta(minutes=10)
# attempts: a code was entered wrongly too often; code_requests: too many codes were asked
# for; code_entries: too many codes were entered for one address.
LOCKOUT_REASONS = ("attempts", "code_requests", "code_entries")


def record_lockout(
    share: Share,
    recipient: Recipient,
    reason: str,
    *,
    member: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record ``verification_locked`` unless one with this reason is recent; the caller commits.

    :param member: comparison form of a list member's address; only its domain is kept.
    :return: whether an event was added.
    """
    if reason not in LOCKOUT_REASONS:
        raise ValueError(f"unknown lockout reason {reason!r}; expected one of {LOCKOUT_REASONS}")
    now = now or utcnow()
    recent = db.session.scalars(
        sa.select(Event.detail).where(
            Event.kind == "verification_locked",
            Event.share_id == share.id,
            Event.recipient_id == recipient.id,
            Event.occurred_at > now - LOCKOUT_EVENT_INTERVAL,
        )
    )
    if any((detail or {}).get("reason") == reason for detail in recent):
        return False
    detail = {"reason": reason}
    if member is not None:
        detail["member_domain"] = member.rpartition("@")[2]
    record_event("verification_locked", share, recipient=recipient, detail=detail)
    return True
