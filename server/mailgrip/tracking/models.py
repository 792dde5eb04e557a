"""Tracking events: append-only facts from which every state is derived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, db, utcnow

EVENT_KINDS = (
    "opened",  # the open-tracking image was fetched
    "link_opened",  # the portal page was shown
    "code_sent",  # a one-time code was mailed to a recipient
    "verification_refused",  # an address that the message was not sent to asked for a code
    "verification_failed",  # a wrong or expired code was entered
    "verification_locked",  # a limit stopped a recipient's code entries or requests for a while
    "verified",  # a recipient proved their address
    "downloaded",  # a file download completed
    "download_denied",  # the access decision refused, before or during a download
    "page_script_ran",  # the portal page's script reported that it ran after a visit
    "sender_viewed",  # the sender's task pane loaded the message's tracking
)
# Kinds that only support the label of other events; the timeline folds them away.
SUPPORTING_KINDS = ("page_script_ran", "sender_viewed")


class Event(db.Model):
    """One tracking fact. Rows are only inserted, never updated or deleted."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    share_id: Mapped[str] = mapped_column(sa.ForeignKey("share.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("message.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recipient.id"))
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("file.id"))
    # person, proxy, scanner, sender or unknown, with the reasons that led to it.
    classification: Mapped[str] = mapped_column(sa.String(16), default="unknown")
    classification_reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    ip_prefix: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The request's method, seconds since delivery and recent fetches that the label weighed,
    # so that evidence arriving later (the page's script, the sender's pane) can weigh them
    # again. None for events recorded outside a request.
    request_facts: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    recipient = relationship("Recipient")
    file = relationship("File")
