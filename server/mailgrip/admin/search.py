"""Queries behind the admin page: mailbox health, message search and one message's history."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..access.models import Block
from ..db import db
from ..mirror.addresses import address_key
from ..mirror.models import MAX_ADDRESS, Mailbox, Message, Recipient
from ..text import remove_control_characters
from ..tracking.models import Event

MAX_SEARCH_RESULTS = 100
MAX_TIMELINE_EVENTS = 500
# Longer search text cannot match any stored subject, address or message id usefully.
MAX_QUERY_CHARS = 998


@dataclass(frozen=True)
class MailboxHealth:
    """One mailbox with its mirrored message count and the state of its last sync."""

    mailbox: Mailbox
    message_count: int

    @property
    def healthy(self) -> bool:
        return self.mailbox.last_synced_at is not None and not self.mailbox.last_sync_error


def mailbox_health() -> list[MailboxHealth]:
    """Return every mailbox, those with a sync error first, then by address."""
    counts = (
        sa.select(Message.mailbox_id, sa.func.count(Message.id).label("messages"))
        .group_by(Message.mailbox_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Mailbox, sa.func.coalesce(counts.c.messages, 0))
        .outerjoin(counts, counts.c.mailbox_id == Mailbox.id)
        .order_by(Mailbox.last_sync_error.is_(None), Mailbox.address)
    )
    return [MailboxHealth(mailbox, count) for mailbox, count in rows]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_messages(query: str) -> list[Message]:
    """Return messages whose subject contains ``query``, or whose sender, recipient or
    ``internetMessageId`` equals it, newest first.
    """
    # The mirror stores subjects without control characters other than tab and line feed, and
    # addresses without any. NUL would also end SQLite's LIKE pattern and match every message.
    text = remove_control_characters(query, keep="\t\n").strip()[:MAX_QUERY_CHARS]
    if not text:
        return []
    message_id = text if text.startswith("<") else f"<{text}>"
    conditions = [
        Message.subject.ilike(_like_pattern(text), escape="\\"),
        Message.internet_message_id.in_([text, message_id]),
    ]
    if "@" in text and len(text) <= MAX_ADDRESS:
        key = address_key(text)
        conditions.append(sa.func.lower(Message.sender_address) == text.lower())
        conditions.append(
            sa.exists().where(Recipient.message_id == Message.id, Recipient.address_key == key)
        )
    return list(
        db.session.scalars(
            sa.select(Message)
            .where(sa.or_(*conditions))
            .order_by(Message.sent_at.desc().nulls_last(), Message.id.desc())
            .limit(MAX_SEARCH_RESULTS)
        )
    )


@dataclass(frozen=True)
class MessageHistory:
    """One message with its events (newest first) and every block of its share."""

    message: Message
    events: list[Event]
    blocks: list[Block]


def message_history(message_id: int) -> MessageHistory | None:
    """Return the history of a message, or None when it does not exist."""
    message = db.session.get(Message, message_id)
    if message is None:
        return None
    events = list(
        db.session.scalars(
            sa.select(Event)
            .where(Event.message_id == message.id)
            .order_by(Event.occurred_at.desc(), Event.id.desc())
            .limit(MAX_TIMELINE_EVENTS)
        )
    )
    blocks: list[Block] = []
    if message.share_id is not None:
        blocks = list(
            db.session.scalars(
                sa.select(Block)
                .where(Block.share_id == message.share_id)
                .order_by(Block.created_at.desc(), Block.id.desc())
            )
        )
    return MessageHistory(message, events, blocks)
