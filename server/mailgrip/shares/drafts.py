"""Draft shares: which ones may still gain or lose files, and how large they may grow."""

from __future__ import annotations

import sqlalchemy as sa

from ..db import db
from ..errors import Conflict, PayloadTooLarge
from .models import Share, Upload
from .service import linked_message


def check_open_draft(share: Share) -> None:
    """Check that ``share`` is a draft that no sent message carries yet.

    :raise Conflict: the share was created with its files in one request, or a message
        carrying it was already sent. Its stored files stay as they are.
    """
    if not share.draft:
        raise Conflict(
            f"Share {share.id} was created with its files in one request, so its files cannot "
            'change. Create a draft share by sending {"draft": true} to POST /api/shares, and '
            "upload the files into that share instead.",
            reason="not_draft",
            shareId=share.id,
        )
    message = linked_message(share)
    if message is not None:
        raise Conflict(
            f"Share {share.id} was already sent with message {message.id}; its files can no "
            "longer change. Start a new share for a new message.",
            reason="sent",
            shareId=share.id,
        )


def check_room_for_upload(share: Share, size: int, limit: int) -> None:
    """Check that an upload of ``size`` bytes keeps the share within ``limit`` bytes.

    Every upload counts with its announced size, complete or not, so the space is claimed
    before any byte of the new file is stored.

    :raise PayloadTooLarge: the share's uploads and the new one together exceed ``limit``.
    """
    total = _announced_bytes(share.id) + size
    if total > limit:
        raise PayloadTooLarge(
            f"Share {share.id} would hold {total} bytes with this file, and the limit is "
            f"{_describe(limit)} per draft share. Remove an upload from the share or send this "
            "file in another message, or ask an administrator to raise MAILGRIP_MAX_SHARE_BYTES.",
            limit=limit,
            shareBytes=total - size,
        )


def check_room_for_chunk(upload: Upload, limit: int) -> None:
    """Check, before a chunk is stored, that ``upload`` still fits in its share's ``limit``.

    Uploads started at the same moment can each pass ``check_room_for_upload``, and the limit
    may have been lowered since an upload started. The uploads started first keep their space
    then, and the later ones are refused here.

    :raise PayloadTooLarge: the uploads of the share up to this one exceed ``limit``.
    """
    total = _announced_bytes(upload.share_id, through_upload_id=upload.id)
    if total > limit:
        raise PayloadTooLarge(
            f"Upload {upload.id} would bring share {upload.share_id} to {total} bytes, and the "
            f"limit is {_describe(limit)} per draft share. Remove this or another upload from "
            "the share and send the file in another message, or ask an administrator to raise "
            "MAILGRIP_MAX_SHARE_BYTES.",
            limit=limit,
            shareBytes=total,
        )


def _announced_bytes(share_id: str, through_upload_id: int | None = None) -> int:
    """Return the sum of the announced sizes of the share's uploads, up to an upload id."""
    query = sa.select(sa.func.coalesce(sa.func.sum(Upload.size), 0)).where(
        Upload.share_id == share_id
    )
    if through_upload_id is not None:
        query = query.where(Upload.id <= through_upload_id)
    return int(db.session.scalar(query))


def _describe(limit: int) -> str:
    return f"{limit} bytes ({limit / 2**20:.4g} MiB)"
