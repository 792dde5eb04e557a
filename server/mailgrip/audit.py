"""The audit log: who blocked, unblocked, downloaded or was denied what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .db import UTCDateTime, db, utcnow


class AuditRecord(db.Model):
    """One audited action. Rows are only inserted."""

    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(
        sa.String(320)
    )  # an address, "recipient:<id>" or "anonymous"
    action: Mapped[str] = mapped_column(sa.String(32))  # block, unblock, download, download_denied
    share_id: Mapped[str | None] = mapped_column(sa.ForeignKey("share.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


def record_audit(actor: str, action: str, share_id: str | None, **detail: Any) -> AuditRecord:
    """Add an audit record to the session; the caller's unit of work commits it."""
    entry = AuditRecord(actor=actor, action=action, share_id=share_id, detail=detail)
    db.session.add(entry)
    return entry
