"""The message trace request budget of each tenant, shared by every Mailgrip process.

Microsoft accepts at most 100 message trace requests per tenant in any 5-minute window
(List messageTraces and getDetailsByRecipient, Graph v1.0 documentation of January 2026).
The budget is kept in the database as one row per allowed request: a slot. Sending a request
takes a slot whose last use lies a whole window back. Two uses of one slot are therefore at
least a window apart, so no window ever contains more requests than there are slots.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, db, utcnow

log = logging.getLogger(__name__)


class TraceBudgetSlot(db.Model):
    """One message trace request that a tenant may send per window, and when it was last sent."""

    __tablename__ = "trace_budget_slot"

    tenant_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def take_trace_request(
    tenant_id: str, size: int, window_seconds: float, now: datetime | None = None
) -> bool:
    """Take one request from the tenant's budget and commit the session.

    Each slot is taken with a compare-and-set UPDATE. On PostgreSQL a second process that
    updates the same row waits for the first to commit and then finds the condition false.
    SQLite serialises writers, so the second UPDATE reads the committed value. Either way
    only one of them takes the slot.

    NOTE: the window is measured with each process's clock, so processes whose clocks
    differ by some seconds can send slightly more than ``size`` requests in Microsoft's window.

    :return: whether a request may be sent now.
    """
    now = now or utcnow()
    _ensure_slots(tenant_id, size)
    cutoff = now - timedelta(seconds=window_seconds)
    free = _free_slots(tenant_id, size, cutoff)
    # Processes that start from different slots rarely collide.
    random.shuffle(free)
    for slot in free:
        taken = db.session.execute(
            sa.update(TraceBudgetSlot)
            .where(
                TraceBudgetSlot.tenant_id == tenant_id,
                TraceBudgetSlot.slot == slot,
                sa.or_(TraceBudgetSlot.used_at.is_(None), TraceBudgetSlot.used_at <= cutoff),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if taken.rowcount == 1:
            return True
    return False


def pause_budget(
    tenant_id: str,
    size: int,
    window_seconds: float,
    pause_seconds: float | None,
    now: datetime | None = None,
) -> None:
    """Take every slot for ``pause_seconds``, so that no process sends a request before then.

    Called when Graph throttles message trace anyway (another application of the tenant may
    use the same budget). Graph's ``Retry-After`` gives the wait; without one, a whole
    window is always enough. A slot already taken for longer keeps its later end.
    """
    now = now or utcnow()
    pause = window_seconds if pause_seconds is None else min(pause_seconds, window_seconds)
    # A slot is free again once its last use lies a window back: back-date the use so that
    # this happens ``pause`` seconds from now.
    used_at = now - timedelta(seconds=window_seconds - pause)
    _ensure_slots(tenant_id, size)
    db.session.execute(
        sa.update(TraceBudgetSlot)
        .where(
            TraceBudgetSlot.tenant_id == tenant_id,
            sa.or_(TraceBudgetSlot.used_at.is_(None), TraceBudgetSlot.used_at < used_at),
        )
        .values(used_at=used_at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    log.warning(
        "Message trace of tenant %s throttled; no requests for %.0f s", tenant_id, pause
    )


def _free_slots(tenant_id: str, size: int, cutoff: datetime) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(TraceBudgetSlot.slot).where(
                TraceBudgetSlot.tenant_id == tenant_id,
                TraceBudgetSlot.slot < size,
                sa.or_(TraceBudgetSlot.used_at.is_(None), TraceBudgetSlot.used_at <= cutoff),
            )
        )
    )


def _ensure_slots(tenant_id: str, size: int) -> None:
    """Create the tenant's missing slots; a slot that another process creates first is kept."""
    existing = set(
        db.session.scalars(
            sa.select(TraceBudgetSlot.slot).where(TraceBudgetSlot.tenant_id == tenant_id)
        )
    )
    missing = [slot for slot in range(size) if slot not in existing]
    for slot in missing:
        try:
            with db.session.begin_nested():
                db.session.add(TraceBudgetSlot(tenant_id=tenant_id, slot=slot))
        except IntegrityError:
            pass
    if missing:
        db.session.commit()
