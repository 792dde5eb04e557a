"""Graph change and lifecycle notifications: which mailbox they concern, and what they change.

Graph echoes the subscription's clientState in every notification. A notification whose
clientState does not match did not come from Mailgrip's subscription and is ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from ..config import Settings
from ..db import db, utcnow
from ..graph.client import GraphClient, GraphError
from .models import Mailbox
from .subscriptions import client_state_matches
from .sync import SELECT_FIELDS, mirror_item

log = logging.getLogger(__name__)

LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


@dataclass
class NotificationResult:
    mirrored: list[str] = field(default_factory=list)
    ignored: int = 0


def trusted_mailbox(notification: dict[str, Any]) -> Mailbox | None:
    """Return the mailbox a notification is for, or None when its subscription or clientState
    is unknown; the reason is logged without the clientState value."""
    subscription_id = notification.get("subscriptionId")
    if not isinstance(subscription_id, str) or not subscription_id:
        log.warning("Notification without a subscriptionId ignored")
        return None
    mailbox = db.session.scalar(
        sa.select(Mailbox).where(Mailbox.subscription_id == subscription_id)
    )
    if mailbox is None:
        log.warning("Notification for unknown subscription %s ignored", subscription_id)
        return None
    if not client_state_matches(mailbox, notification.get("clientState")):
        log.warning(
            "Notification for subscription %s of mailbox %s has a wrong clientState; ignored",
            subscription_id,
            mailbox.id,
        )
        return None
    return mailbox


def apply_change_notifications(
    notifications: list[dict[str, Any]], graph: GraphClient, settings: Settings
) -> NotificationResult:
    """Mirror the messages that trusted ``created`` notifications name.

    Applying a notification twice is harmless: messages are matched by mailbox and Graph id.

    :raise GraphError: Graph failed on a message; earlier notifications stay applied.
    """
    result = NotificationResult()
    sent_items: dict[int, str] = {}  # Sent Items folder id per mailbox, read once per batch
    for notification in notifications:
        mailbox = trusted_mailbox(notification)
        if mailbox is None:
            result.ignored += 1
            continue
        # Any trusted notification shows that the subscription still delivers.
        mailbox.last_notification_at = utcnow()
        db.session.commit()
        message_id = (notification.get("resourceData") or {}).get("id")
        if notification.get("changeType") != "created" or not message_id:
            result.ignored += 1
            continue
        if mailbox.id not in sent_items:
            sent_items[mailbox.id] = _sent_items_id(mailbox, graph)
        if _mirror_message(mailbox, str(message_id), sent_items[mailbox.id], graph, settings):
            result.mirrored.append(str(message_id))
    return result


def _sent_items_id(mailbox: Mailbox, graph: GraphClient) -> str:
    folder = graph.get_json(
        f"users/{quote(mailbox.object_id)}/mailFolders/sentitems", params={"$select": "id"}
    )
    return folder["id"]


def _mirror_message(
    mailbox: Mailbox, message_id: str, sent_items_id: str, graph: GraphClient, settings: Settings
) -> bool:
    try:
        item = graph.get_json(
            f"users/{quote(mailbox.object_id)}/messages/{quote(message_id, safe='')}",
            params={"$select": f"{SELECT_FIELDS},parentFolderId"},
        )
    except GraphError as error:
        if error.http_status != 404:
            raise
        # Deleted or moved out of reach before Mailgrip read it; delta reports what remains.
        log.info("Mailbox %s: notified message %s no longer exists", mailbox.id, message_id)
        return False
    # The message may have left Sent Items since the notification. It is still mirrored
    # because it was sent, but marked as moved out, as delta sync records it.
    in_sent_items = item.get("parentFolderId") == sent_items_id
    outcome = mirror_item(mailbox, item, graph, settings, in_sent_items)
    return not outcome.failed


def lifecycle_events(notifications: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Return (mailbox id, lifecycle event) for each trusted lifecycle notification."""
    events = []
    for notification in notifications:
        event = notification.get("lifecycleEvent")
        if event not in LIFECYCLE_EVENTS:
            log.warning("Lifecycle notification with unknown event %r ignored", str(event)[:64])
            continue
        mailbox = trusted_mailbox(notification)
        if mailbox is not None:
            log.info("Mailbox %s: lifecycle event %s", mailbox.id, event)
            events.append((mailbox.id, event))
    return events
