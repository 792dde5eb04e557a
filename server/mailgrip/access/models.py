"""Blocks: the sender's refusals that feed the access decision."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, db, utcnow

BLOCK_SCOPES = ("all", "recipient", "file")


class Block(db.Model):
    """A block of scope ``all``, ``recipient`` or ``file``; a lifted block stays as history."""

    __tablename__ = "block"
    __table_args__ = (sa.CheckConstraint("scope IN ('all', 'recipient', 'file')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[str] = mapped_column(sa.ForeignKey("share.id"), index=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recipient.id"))
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("file.id"))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_by: Mapped[str | None] = mapped_column(sa.String(320))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient = relationship("Recipient")
    file = relationship("File")

    @property
    def active(self) -> bool:
        return self.lifted_at is None
