"""One-time codes that recipients use to prove their address at the portal."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, db, utcnow
from ..mirror.models import MAX_ADDRESS


class VerificationCode(db.Model):
    """A one-time code, stored as a salted hash; single use and short-lived."""

    __tablename__ = "verification_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[str] = mapped_column(sa.ForeignKey("share.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("recipient.id"), index=True)
    # Comparison form of the address of a distribution list's member that the code was mailed
    # to; None when it went to the recipient's own address.
    member_key: Mapped[str | None] = mapped_column(sa.String(MAX_ADDRESS))
    code_hash: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
