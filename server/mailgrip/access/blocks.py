"""Creating and lifting blocks; each change is audited."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ..audit import record_audit
from ..db import db, utcnow
from ..errors import BadRequest, NotFound
from ..mirror.models import Message, Recipient
from ..shares.models import File, Share
from .models import BLOCK_SCOPES, Block

log = logging.getLogger(__name__)


def create_block(
    message: Message,
    scope: str,
    actor: str,
    recipient_id: int | None = None,
    file_id: int | None = None,
) -> tuple[Block, bool]:
    """Block access for ``scope`` on the message's share; an identical active block is reused.

    :return: the block and whether it was created now.
    :raise BadRequest: the scope, recipient or file does not fit the message.
    """
    if scope not in BLOCK_SCOPES:
        raise BadRequest(
            f"Block scope {scope!r} is not valid; use one of: {', '.join(BLOCK_SCOPES)}."
        )
    if message.share_id is None:
        raise BadRequest(
            f"Message {message.id} was sent without secure files, so there is nothing to block."
        )
    if scope == "recipient" and message.share.verification == "none":
        raise BadRequest(
            f"Message {message.id} lets anyone with the link download without verifying, so a "
            "recipient cannot be told apart; block a file or everything instead."
        )
    recipient_id = _recipient_of(message, recipient_id) if scope == "recipient" else None
    file_id = _file_of(message, file_id) if scope == "file" else None

    # Lock the share's row before looking for an identical block, so that two requests at once
    # cannot both create one. On PostgreSQL the UPDATE locks the row; on SQLite it takes the
    # database's write lock, which the transaction holds until commit.
    db.session.execute(sa.update(Share).where(Share.id == message.share_id).values(id=Share.id))
    existing = db.session.scalar(
        sa.select(Block).where(
            Block.share_id == message.share_id,
            Block.scope == scope,
            Block.recipient_id.is_(None)
            if recipient_id is None
            else Block.recipient_id == recipient_id,
            Block.file_id.is_(None) if file_id is None else Block.file_id == file_id,
            Block.lifted_at.is_(None),
        )
    )
    if existing is not None:
        return existing, False

    block = Block(
        share_id=message.share_id,
        scope=scope,
        recipient_id=recipient_id,
        file_id=file_id,
        created_by=actor,
    )
    db.session.add(block)
    db.session.flush()
    record_audit(
        actor,
        "block",
        message.share_id,
        block_id=block.id,
        scope=scope,
        recipient_id=recipient_id,
        file_id=file_id,
        message_id=message.id,
    )
    log.info("Block %s (%s) on share %s created", block.id, scope, message.share_id)
    return block, True


def lift_block(block: Block, actor: str) -> Block:
    """Lift an active block; lifting a lifted block changes nothing. The row stays as history."""
    if block.lifted_at is not None:
        return block
    block.lifted_at = utcnow()
    block.lifted_by = actor
    record_audit(actor, "unblock", block.share_id, block_id=block.id, scope=block.scope)
    log.info("Block %s (%s) on share %s lifted", block.id, block.scope, block.share_id)
    return block


def _recipient_of(message: Message, recipient_id: int | None) -> int:
    if recipient_id is None:
        raise BadRequest("A block of scope 'recipient' needs recipientId.")
    recipient = db.session.get(Recipient, recipient_id)
    if recipient is None or recipient.message_id != message.id:
        raise NotFound(f"Recipient {recipient_id} is not a recipient of message {message.id}.")
    return recipient.id


def _file_of(message: Message, file_id: int | None) -> int:
    if file_id is None:
        raise BadRequest("A block of scope 'file' needs fileId.")
    file = db.session.get(File, file_id)
    if file is None or file.share_id != message.share_id:
        raise NotFound(f"File {file_id} is not a file of message {message.id}.")
    return file.id
