"""Deleting draft shares that no sent message carries once their retention period is over.

The add-in creates a draft share as soon as a user attaches a file, so drafts that are
discarded or never sent would otherwise keep their stored files for ever.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ..access.models import Block
from ..audit import AuditRecord, record_audit
from ..db import db, utcnow
from ..mirror.models import Message
from ..tracking.models import Event
from ..verification.models import VerificationCode
from .models import File, Share, Upload
from .storage import Storage

log = logging.getLogger(__name__)

AUDIT_ACTOR = "system:draft-retention"
AUDIT_ACTION = "draft_share_deleted"


def delete_stale_drafts(
    storage: Storage, retention_days: float, now: datetime | None = None
) -> int:
    """Delete the draft shares untouched for ``retention_days`` that no message carries.

    A draft counts from its newest upload, or from its creation when it has none. Each share
    is deleted with its files, uploads and an audit record in a transaction of its own. Its
    stored bytes are deleted inside that transaction, after the share is locked and checked
    again, so a failure leaves the rows for the next run, which deletes what is left.

    :return: the number of shares deleted.
    """
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    candidates = list(db.session.scalars(sa.select(Share.id).where(*_stale(cutoff))))
    db.session.rollback()
    deleted = 0
    for share_id in candidates:
        try:
            deleted += _delete_draft(share_id, cutoff, storage)
        except (DBAPIError, OSError):
            # A lock conflict with a request on the same share, or a storage failure: the next
            # run tries again, and one share does not stop the others.
            db.session.rollback()
            log.exception("Deleting draft share %s failed; it is tried again next run", share_id)
    kept = db.session.scalar(
        sa.select(sa.func.count(Share.id)).where(*_stale(cutoff, with_history=True))
    )
    db.session.rollback()
    if kept:
        log.info(
            "%d draft shares past retention are kept, because events, blocks, verification "
            "codes or audit records refer to them",
            kept,
        )
    log.info("Draft retention: %d draft shares older than %s deleted", deleted, cutoff.isoformat())
    return deleted


def _delete_draft(share_id: str, cutoff: datetime, storage: Storage) -> bool:
    """Delete one stale draft share with its rows and bytes, and commit.

    :return: whether it was deleted; False when it is no longer stale.
    """
    # On PostgreSQL FOR UPDATE blocks linking a message to the share and adding an upload to
    # it (both take a KEY SHARE lock on the share row) until this transaction ends. On SQLite
    # the UPDATE takes the database's write lock, so no writer can change what is checked next.
    db.session.execute(sa.select(Share.id).where(Share.id == share_id).with_for_update())
    db.session.execute(sa.update(Share).where(Share.id == share_id).values(draft=Share.draft))
    share = db.session.scalar(sa.select(Share).where(Share.id == share_id, *_stale(cutoff)))
    if share is None:
        db.session.rollback()
        log.info("Share %s is no longer a stale draft; not deleted", share_id)
        return False

    uploads = list(db.session.scalars(sa.select(Upload).where(Upload.share_id == share_id)))
    files = list(db.session.scalars(sa.select(File).where(File.share_id == share_id)))
    keys = sorted({upload.storage_key for upload in uploads} | {file.storage_key for file in files})
    owner_id = share.owner_mailbox_id
    record_audit(
        AUDIT_ACTOR,
        AUDIT_ACTION,
        # The share row is deleted, so the record names it in its detail instead.
        None,
        shareId=share_id,
        ownerMailboxId=owner_id,
        createdAt=share.created_at.isoformat(),
        files=len(files),
        unfinishedUploads=sum(1 for upload in uploads if upload.file_id is None),
        bytes=sum(file.size for file in files),
    )
    db.session.execute(sa.delete(Upload).where(Upload.share_id == share_id))
    db.session.execute(sa.delete(File).where(File.share_id == share_id))
    db.session.execute(sa.delete(Share).where(Share.id == share_id))
    for row in (share, *uploads, *files):
        db.session.expunge(row)
    # The lock still keeps a message from being linked to the share while its bytes go.
    for key in keys:
        storage.delete_partial(key)
        storage.delete(key)
    db.session.commit()
    log.info(
        "Draft share %s of mailbox %s deleted with %d files and %d uploads",
        share_id,
        owner_id,
        len(files),
        len(uploads),
    )
    return True


def _stale(cutoff: datetime, *, with_history: bool = False) -> list[sa.ColumnElement[bool]]:
    """Return the conditions of a draft share past ``cutoff`` that no message carries.

    :param with_history: select instead the stale drafts that an event, block, verification
        code or audit record refers to. Those are kept, because the records must keep their
        share.
    """
    history = sa.or_(
        *(
            sa.exists().where(model.share_id == Share.id)
            for model in (Event, Block, VerificationCode, AuditRecord)
        )
    )
    return [
        Share.draft.is_(True),
        Share.created_at < cutoff,
        ~sa.exists().where(Message.share_id == Share.id),
        ~sa.exists().where(Upload.share_id == Share.id, Upload.created_at >= cutoff),
        history if with_history else ~history,
    ]
