"""Admin sessions, kept in the database so that signing out ends them everywhere."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, db, utcnow
from ..mirror.models import MAX_ADDRESS, MAX_DISPLAY_NAME


class AdminSession(db.Model):
    """One signed-in admin browser.

    The session cookie contains a random token, and only its hash is stored here.
    """

    __tablename__ = "admin_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    address: Mapped[str] = mapped_column(sa.String(MAX_ADDRESS), default="")
    name: Mapped[str] = mapped_column(sa.String(MAX_DISPLAY_NAME), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
