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
from ..text import has_control_character
from .models import Mailbox
from .subscriptions import client_state_matches
from .sync import SELECT_FIELDS, mirror_item

log = logging.getLogger(__name__)

LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


@dataclass
class NotificationResult:
    mirrored: list[str] = field(default_factory=list)
    ignored: int = 0


# Subscription ids named in the summary line of a batch; the rest are only counted.
_LOGGED_IDS = 3
_MAX_SUBSCRIPTION_ID = 128  # Mailbox.subscription_id


@dataclass
class IgnoredNotifications:
    """Notifications of one batch that did not come from a trusted subscription.

    They are logged as one summary line per batch, because anyone can post a batch of
    thousands to the webhook, and one line each would flood the log.
    """

    without_subscription: int = 0
    unknown_subscriptions: list[str] = field(default_factory=list)
    wrong_client_state: list[str] = field(default_factory=list)
    unknown_events: int = 0

    @property
    def total(self) -> int:
        return (
            self.without_subscription
            + len(self.unknown_subscriptions)
            + len(self.wrong_client_state)
            + self.unknown_events
        )

    def log(self, batch_size: int) -> None:
        """Log one WARNING with the counts and the first few subscription ids, if any.

        The clientState values are never logged: a wrong one may be a guess at the secret.
        """
        if not self.total:
            return
        parts = []
        if self.unknown_subscriptions:
            parts.append(
                f"{len(self.unknown_subscriptions)} for unknown subscriptions "
                f"({_sample(self.unknown_subscriptions)})"
            )
        if self.wrong_client_state:
            parts.append(
                f"{len(self.wrong_client_state)} with a wrong clientState "
                f"(subscriptions {_sample(self.wrong_client_state)})"
            )
        if self.without_subscription:
            parts.append(f"{self.without_subscription} without a subscriptionId")
        if self.unknown_events:
            parts.append(f"{self.unknown_events} with an unknown lifecycleEvent")
        log.warning("Ignored %d of %d notifications: %s", self.total, batch_size, "; ".join(parts))


def _sample(subscription_ids: list[str]) -> str:
    distinct = list(dict.fromkeys(subscription_ids))
    # repr() escapes control characters, and the cut keeps a posted megabyte out of the log.
    listed = ", ".join(repr(subscription_id[:64]) for subscription_id in distinct[:_LOGGED_IDS])
    return listed + (", ..." if len(distinct) > _LOGGED_IDS else "")


def trusted_mailboxes(
    notifications: list[dict[str, Any]], ignored: IgnoredNotifications
) -> list[Mailbox | None]:
    """Return the mailbox of each notification, or None where its subscription or clientState
    is unknown, counting each such notification in ``ignored``.

    The mailboxes of the whole batch are read with one query.
    """
    subscription_ids = [_subscription_id(notification) for notification in notifications]
    lookup_ids = {subscription_id for subscription_id in subscription_ids if subscription_id}
    by_subscription = {}
    if lookup_ids:
        by_subscription = {
            mailbox.subscription_id: mailbox
            for mailbox in db.session.scalars(
                sa.select(Mailbox).where(Mailbox.subscription_id.in_(lookup_ids))
            )
        }
    mailboxes: list[Mailbox | None] = []
    for notification, subscription_id in zip(notifications, subscription_ids, strict=True):
        mailbox = by_subscription.get(subscription_id) if subscription_id else None
        if subscription_id is None:
            ignored.without_subscription += 1
        elif mailbox is None:
            ignored.unknown_subscriptions.append(subscription_id)
        elif not client_state_matches(mailbox, notification.get("clientState")):
            ignored.wrong_client_state.append(subscription_id)
            mailbox = None
        mailboxes.append(mailbox)
    return mailboxes


def _subscription_id(notification: dict[str, Any]) -> str | None:
    """Return the notification's subscriptionId, or None when it has none that could be stored.

    PostgreSQL rejects NUL in a query, and no subscription id is longer than its column.
    """
    value = notification.get("subscriptionId")
    if not isinstance(value, str) or not value:
        return None
    if len(value) > _MAX_SUBSCRIPTION_ID or has_control_character(value):
        return None
    return value


def apply_change_notifications(
    notifications: list[dict[str, Any]], graph: GraphClient, settings: Settings
) -> NotificationResult:
    """Mirror the messages that trusted ``created`` notifications name.

    Applying a notification twice is harmless: messages are matched by mailbox and Graph id.

    :raise GraphError: Graph failed on a message; earlier notifications stay applied.
    """
    result = NotificationResult()
    ignored = IgnoredNotifications()
    mailboxes = trusted_mailboxes(notifications, ignored)
    ignored.log(len(notifications))
    sent_items: dict[int, str] = {}  # Sent Items folder id per mailbox, read once per batch
    for notification, mailbox in zip(notifications, mailboxes, strict=True):
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
    ignored = IgnoredNotifications()
    known = [item for item in notifications if item.get("lifecycleEvent") in LIFECYCLE_EVENTS]
    ignored.unknown_events = len(notifications) - len(known)
    events = []
    for notification, mailbox in zip(known, trusted_mailboxes(known, ignored), strict=True):
        if mailbox is not None:
            event = notification["lifecycleEvent"]
            log.info("Mailbox %s: lifecycle event %s", mailbox.id, event)
            events.append((mailbox.id, event))
    ignored.log(len(notifications))
    return events
