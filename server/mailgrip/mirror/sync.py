"""Delta sync of each mailbox's Sent Items into messages and recipients."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..config import Settings
from ..db import db, utcnow
from ..graph.client import GraphClient, GraphError
from ..text import has_control_character, remove_control_characters
from .addresses import address_key
from .linking import find_share
from .models import (
    MAX_ADDRESS,
    MAX_DISPLAY_NAME,
    MAX_INTERNET_MESSAGE_ID,
    Mailbox,
    Message,
    Recipient,
)

log = logging.getLogger(__name__)

# Fields mirrored from Graph; the body is needed to find a share link when the custom property is
# missing.
SELECT_FIELDS = (
    "subject,from,sender,toRecipients,ccRecipients,bccRecipients,"
    "internetMessageId,sentDateTime,body"
)
PAGE_SIZE = 50
RECIPIENT_FIELDS = (("toRecipients", "to"), ("ccRecipients", "cc"), ("bccRecipients", "bcc"))


@dataclass
class SyncResult:
    mailbox_id: int
    created: int = 0
    updated: int = 0
    removed: int = 0
    pages: int = 0
    full_resync: bool = False
    failed: list[str] = field(default_factory=list)
    error: str | None = None  # why the whole sync of the mailbox failed


def sync_mailbox(
    mailbox: Mailbox, graph: GraphClient, settings: Settings, page_size: int = PAGE_SIZE
) -> SyncResult:
    """Apply every change in the mailbox's Sent Items since its delta link, then save the new link.

    Each page is committed as it arrives, but the delta link is saved only after the final page.
    A sync that fails half-way starts again from the old link. Applying a change twice is
    harmless, because messages are matched by their Graph id.

    :raise GraphError: Graph failed; the error is also stored on the mailbox.
    """
    result = SyncResult(mailbox_id=mailbox.id)
    try:
        try:
            _run_delta(mailbox, graph, settings, result, page_size)
        except GraphError as error:
            if not _sync_state_lost(error) or mailbox.delta_link is None:
                raise
            # Graph forgot the sync state behind the delta link: start a full sync from scratch.
            log.warning("Mailbox %s: delta link expired (%s); full resync", mailbox.id, error)
            mailbox.delta_link = None
            result.full_resync = True
            _run_delta(mailbox, graph, settings, result, page_size)
    except GraphError as error:
        db.session.rollback()
        mailbox.last_sync_error = error.message
        db.session.commit()
        raise
    mailbox.last_synced_at = utcnow()
    mailbox.last_sync_error = _failure_summary(result)
    db.session.commit()
    # A round without changes is the common case of a periodic sync; keep it out of INFO.
    changed = result.created or result.updated or result.removed or result.failed
    log.log(
        logging.INFO if changed else logging.DEBUG,
        "Mailbox %s synced: %d created, %d updated, %d removed in %d pages",
        mailbox.id,
        result.created,
        result.updated,
        result.removed,
        result.pages,
    )
    return result


def sync_all(graph: GraphClient, settings: Settings) -> list[SyncResult]:
    """Sync every known mailbox; one mailbox's failure does not stop the others.

    :return: one result per mailbox; a failed mailbox's result has ``error`` set.
    """
    results = []
    for mailbox in db.session.scalars(sa.select(Mailbox).order_by(Mailbox.id)).all():
        try:
            results.append(sync_mailbox(mailbox, graph, settings))
        except GraphError as error:
            log.error("Mailbox %s: sync failed: %s", mailbox.id, error)
            results.append(SyncResult(mailbox_id=mailbox.id, error=error.message))
        except Exception as error:
            # A job boundary: an unexpected failure of one mailbox must not skip the others.
            log.exception("Mailbox %s: sync failed unexpectedly", mailbox.id)
            db.session.rollback()
            mailbox.last_sync_error = f"Sync failed unexpectedly: {type(error).__name__}"
            db.session.commit()
            results.append(SyncResult(mailbox_id=mailbox.id, error=mailbox.last_sync_error))
    return results


def _sync_state_lost(error: GraphError) -> bool:
    return error.http_status == 410 or error.graph_code == "SyncStateNotFound"


def _run_delta(
    mailbox: Mailbox, graph: GraphClient, settings: Settings, result: SyncResult, page_size: int
) -> None:
    if mailbox.delta_link:
        pages = graph.iter_pages(mailbox.delta_link, page_size=page_size)
    else:
        path = f"users/{quote(mailbox.object_id)}/mailFolders/sentitems/messages/delta"
        pages = graph.iter_pages(path, params={"$select": SELECT_FIELDS}, page_size=page_size)

    delta_link = None
    for page in pages:
        result.pages += 1
        for item in page.get("value", []):
            _apply_item(mailbox, item, graph, settings, result)
        db.session.commit()
        delta_link = page.get("@odata.deltaLink", delta_link)
    if delta_link is None:
        raise GraphError(f"Mailbox {mailbox.id}: the last delta page had no @odata.deltaLink")
    mailbox.delta_link = delta_link


def _apply_item(
    mailbox: Mailbox,
    item: dict[str, Any],
    graph: GraphClient,
    settings: Settings,
    result: SyncResult,
    in_sent_items: bool = True,
) -> None:
    """Apply one change in a savepoint, so that an item the database rejects skips only itself.

    NOTE: a skipped item is not retried by later delta rounds, only by a full resync; its id is
    kept in the mailbox's ``last_sync_error``.
    """
    try:
        try:
            _apply_in_savepoint(mailbox, item, graph, settings, result, in_sent_items)
        except IntegrityError:
            # A notification job mirrored the same message at the same moment; the second
            # attempt finds its row and updates it.
            _apply_in_savepoint(mailbox, item, graph, settings, result, in_sent_items)
    except SQLAlchemyError as error:
        log.error(
            "Mailbox %s: sent item %s could not be mirrored: %s",
            mailbox.id,
            item.get("id"),
            type(error).__name__,
        )
        result.failed.append(str(item.get("id")))


def _apply_in_savepoint(
    mailbox: Mailbox,
    item: dict[str, Any],
    graph: GraphClient,
    settings: Settings,
    result: SyncResult,
    in_sent_items: bool,
) -> None:
    mailbox_id = mailbox.id  # read before the savepoint: see _lock_mailbox
    with db.session.begin_nested():
        _lock_mailbox(mailbox_id)
        if "@removed" in item:
            result.removed += _mark_removed(mailbox, item["id"])
        elif upsert_message(mailbox, item, graph, settings, in_sent_items):
            result.created += 1
        else:
            result.updated += 1


def _lock_mailbox(mailbox_id: int) -> None:
    """Make jobs that mirror into one mailbox take turns until the transaction ends.

    A delta sync and notification jobs can mirror the same message at once. An UPDATE that
    changes nothing locks the mailbox's row on PostgreSQL. On SQLite it takes the database's
    write lock as the transaction's first statement: a transaction that read first and then
    wrote could deadlock with another writer, and SQLite fails one of them at once with
    "database is locked" instead of waiting.
    """
    db.session.execute(
        sa.update(Mailbox)
        .where(Mailbox.id == mailbox_id)
        .values(id=Mailbox.id)
        .execution_options(synchronize_session=False)
    )


def mirror_item(
    mailbox: Mailbox,
    item: dict[str, Any],
    graph: GraphClient,
    settings: Settings,
    in_sent_items: bool,
) -> SyncResult:
    """Mirror one sent item read outside a delta round, such as after a change notification.

    :param in_sent_items: whether the item is still in Sent Items; it may have moved since.
    :return: the counts of the change, with the item's id in ``failed`` if it was skipped.
    """
    result = SyncResult(mailbox_id=mailbox.id)
    _apply_item(mailbox, item, graph, settings, result, in_sent_items)
    db.session.commit()
    return result


def _failure_summary(result: SyncResult) -> str | None:
    if not result.failed:
        return None
    shown = ", ".join(result.failed[:5])
    more = f" and {len(result.failed) - 5} more" if len(result.failed) > 5 else ""
    return f"{len(result.failed)} sent items could not be mirrored: {shown}{more}"


def upsert_message(
    mailbox: Mailbox,
    item: dict[str, Any],
    graph: GraphClient,
    settings: Settings,
    in_sent_items: bool = True,
) -> bool:
    """Create or update the mirror of one sent item.

    :param in_sent_items: False for a sent item found in another folder.
    :return: whether the message is new.
    """
    message = db.session.scalar(
        sa.select(Message).where(Message.mailbox_id == mailbox.id, Message.graph_id == item["id"])
    )
    created = message is None
    if message is None:
        message = Message(mailbox_id=mailbox.id, graph_id=item["id"])
        db.session.add(message)

    if "subject" in item:
        message.subject = remove_control_characters(item.get("subject") or "", keep="\t\n")
    if "internetMessageId" in item:
        message.internet_message_id = _bounded_id(item.get("internetMessageId"))
    if item.get("sentDateTime"):
        message.sent_at = _parse_time(item["sentDateTime"])
    sender = item.get("from") or item.get("sender")
    if sender:
        message.sender_address = _bounded_address(sender.get("emailAddress", {}).get("address"))
    message.in_sent_items = in_sent_items
    _merge_recipients(message, item)

    if message.share_id is None:
        share = find_share(mailbox, item, graph, settings)
        if share is not None:
            message.share_id = share.id
    return created


def _merge_recipients(message: Message, item: dict[str, Any]) -> None:
    """Add recipients not yet known; one per address however it is spelled, first spelling kept."""
    known = {recipient.address_key for recipient in message.recipients}
    for graph_field, kind in RECIPIENT_FIELDS:
        for entry in item.get(graph_field) or []:
            email = entry.get("emailAddress") or {}
            address = _bounded_address(email.get("address"))
            if not address:
                continue
            key = address_key(address)
            if key in known:
                continue
            known.add(key)
            message.recipients.append(
                Recipient(
                    address=address,
                    address_key=key,
                    display_name=remove_control_characters(email.get("name") or "")[
                        :MAX_DISPLAY_NAME
                    ],
                    kind=kind,
                )
            )


def _mark_removed(mailbox: Mailbox, graph_id: str) -> int:
    """Record that a message left Sent Items. Access to its files is not changed."""
    message = db.session.scalar(
        sa.select(Message).where(Message.mailbox_id == mailbox.id, Message.graph_id == graph_id)
    )
    if message is None or not message.in_sent_items:
        return 0
    message.in_sent_items = False
    return 1


def _bounded_address(value: str | None) -> str:
    """Return the address, or an empty string when it is too long or has control characters."""
    address = (value or "").strip()
    if len(address) > MAX_ADDRESS or has_control_character(address):
        return ""
    return address


def _bounded_id(value: str | None) -> str | None:
    return value if value is None or len(value) <= MAX_INTERNET_MESSAGE_ID else None


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
