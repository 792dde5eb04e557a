"""The access decision: the one function that decides whether a file may be downloaded.

Every download path calls ``decide`` before the first byte and again before each chunk, so a
block set while a download runs ends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..db import db, utcnow
from ..mirror.models import Recipient
from ..shares.models import File, Share
from .models import Block

REASONS = (
    "blocked_all",
    "blocked_recipient",
    "blocked_file",
    "expired",
    "not_verified",
    "limit_reached",
    "not_found",
)


@dataclass(frozen=True)
class Decision:
    """Whether access is allowed and, when it is not, the reason (one of ``REASONS``)."""

    allowed: bool
    reason: str | None = None


ALLOWED = Decision(allowed=True)


def decide(
    share: Share | None,
    file: File | None,
    recipient: Recipient | None,
    now: datetime | None = None,
) -> Decision:
    """Decide whether ``recipient`` (None: not verified) may download ``file`` of ``share``.

    Reasons are checked in this order, and the first that applies is returned: ``not_found``
    (no share, no file, or a file of another share), ``blocked_all``, ``blocked_file``,
    ``blocked_recipient``, ``expired``, ``not_verified``. Blocks are read from the database on
    every call, never from a cache.
    """
    if share is None or file is None or file.share_id != share.id:
        return Decision(False, "not_found")

    blocks = db.session.execute(
        sa.select(Block.scope, Block.file_id, Block.recipient_id).where(
            Block.share_id == share.id, Block.lifted_at.is_(None)
        )
    ).all()
    if any(block.scope == "all" for block in blocks):
        return Decision(False, "blocked_all")
    if any(block.scope == "file" and block.file_id == file.id for block in blocks):
        return Decision(False, "blocked_file")
    if recipient is not None and any(
        block.scope == "recipient" and block.recipient_id == recipient.id for block in blocks
    ):
        return Decision(False, "blocked_recipient")

    if (now or utcnow()) >= share.expires_at:
        return Decision(False, "expired")
    if share.verification == "code" and recipient is None:
        return Decision(False, "not_verified")
    # NOTE: "limit_reached" is never returned, because no download limit can be configured
    # yet; a limit check belongs here, after verification, once there is one.
    return ALLOWED
