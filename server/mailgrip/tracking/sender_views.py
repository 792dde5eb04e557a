"""Recording the sender's own loads of a message's tracking, from the task pane."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import request

from ..db import db, utcnow
from ..mirror.models import Message
from .events import clean_user_agent, record_event, truncate_ip
from .models import Event

# The pane refreshes every few seconds; one record per network and browser in this time is
# enough to place the sender.
REPEAT_AFTER = timedelta(minutes=2)


def record_sender_view(message: Message) -> None:
    """Record ``sender_viewed`` unless one from the same network and browser is recent.

    The caller commits. Messages without a share have no events and record nothing.
    """
    if message.share is None:
        return
    ip_prefix = truncate_ip(request.remote_addr)
    recent = db.session.scalar(
        sa.select(Event.id).where(
            Event.share_id == message.share_id,
            Event.kind == "sender_viewed",
            Event.ip_prefix == ip_prefix,
            Event.user_agent == clean_user_agent(request.headers.get("User-Agent")),
            Event.occurred_at >= utcnow() - REPEAT_AFTER,
        ).limit(1)
    )
    if recent is None:
        record_event("sender_viewed", message.share, message=message)
