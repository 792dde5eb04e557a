"""Change-notification subscriptions on each mailbox's Sent Items: create, renew, check."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta
from urllib.parse import quote

from ..config import Settings
from ..db import db, utcnow
from ..graph.client import GraphClient, GraphError
from ..shares.tokens import hash_token
from .models import Mailbox

log = logging.getLogger(__name__)

NOTIFICATION_PATH = "/graph/notifications"
LIFECYCLE_PATH = "/graph/lifecycle"


def subscription_resource(mailbox: Mailbox) -> str:
    """Return the Graph resource of a mailbox's Sent Items messages."""
    return f"users/{quote(mailbox.object_id)}/mailFolders('SentItems')/messages"


def needs_renewal(mailbox: Mailbox, settings: Settings) -> bool:
    """Tell whether the mailbox lacks a subscription or has used half of its lifetime.

    Renewing at half-life leaves the other half for retries when Graph is unavailable.
    """
    if mailbox.subscription_id is None or mailbox.subscription_expires_at is None:
        return True
    half_life = timedelta(minutes=settings.subscription_lifetime_minutes / 2)
    return mailbox.subscription_expires_at - utcnow() < half_life


def has_active_subscription(mailbox: Mailbox) -> bool:
    expires = mailbox.subscription_expires_at
    return mailbox.subscription_id is not None and expires is not None and expires > utcnow()


def ensure_subscription(mailbox: Mailbox, graph: GraphClient, settings: Settings) -> None:
    """Renew the mailbox's subscription, or create one when it has none or Graph forgot it.

    :raise GraphError: Graph rejected the call; the reason is kept on the mailbox.
    """
    try:
        if mailbox.subscription_id is not None:
            try:
                renew_subscription(mailbox, graph, settings)
                return
            except GraphError as error:
                if error.http_status != 404:
                    raise
                log.info(
                    "Mailbox %s: subscription %s is gone; creating a new one",
                    mailbox.id,
                    mailbox.subscription_id,
                )
        create_subscription(mailbox, graph, settings)
    except GraphError as error:
        db.session.rollback()
        mailbox.subscription_error = error.message
        db.session.commit()
        raise


def create_subscription(mailbox: Mailbox, graph: GraphClient, settings: Settings) -> None:
    """Create a subscription to messages created in Sent Items, replacing any earlier one.

    Graph validates the notification URLs before it responds, so Mailgrip must be reachable
    at ``MAILGRIP_PUBLIC_URL`` while this runs.
    """
    client_state = secrets.token_urlsafe(32)  # Graph allows at most 128 characters.
    response = graph.request(
        "POST",
        "subscriptions",
        json={
            "changeType": "created",
            "notificationUrl": settings.public_url + NOTIFICATION_PATH,
            "lifecycleNotificationUrl": settings.public_url + LIFECYCLE_PATH,
            "resource": subscription_resource(mailbox),
            "expirationDateTime": _graph_time(_expiry(settings)),
            "clientState": client_state,
        },
    ).json()
    previous = mailbox.subscription_id
    mailbox.subscription_id = response["id"]
    mailbox.subscription_expires_at = _parse_time(response["expirationDateTime"])
    mailbox.subscription_client_state_hash = hash_token(client_state)
    mailbox.subscription_error = None
    db.session.commit()
    log.info(
        "Mailbox %s: subscription %s created, expires %s",
        mailbox.id,
        mailbox.subscription_id,
        mailbox.subscription_expires_at.isoformat(),
    )
    if previous and previous != mailbox.subscription_id:
        _delete_quietly(graph, mailbox, previous)


def renew_subscription(mailbox: Mailbox, graph: GraphClient, settings: Settings) -> None:
    """Extend the subscription's expiry to the full lifetime from now.

    Renewing also answers ``reauthorizationRequired``: Graph accepts a PATCH of the expiry
    as reauthorization.

    :raise GraphError: 404 when Graph no longer has the subscription.
    """
    response = graph.request(
        "PATCH",
        f"subscriptions/{quote(mailbox.subscription_id or '', safe='')}",
        json={"expirationDateTime": _graph_time(_expiry(settings))},
    ).json()
    mailbox.subscription_expires_at = _parse_time(response["expirationDateTime"])
    mailbox.subscription_error = None
    db.session.commit()
    log.info(
        "Mailbox %s: subscription %s renewed until %s",
        mailbox.id,
        mailbox.subscription_id,
        mailbox.subscription_expires_at.isoformat(),
    )


def client_state_matches(mailbox: Mailbox, client_state: object) -> bool:
    """Compare a notification's clientState with the stored hash in constant time."""
    if not isinstance(client_state, str) or not mailbox.subscription_client_state_hash:
        return False
    return hmac.compare_digest(hash_token(client_state), mailbox.subscription_client_state_hash)


def _delete_quietly(graph: GraphClient, mailbox: Mailbox, subscription_id: str) -> None:
    """Delete a replaced subscription; one that Graph already dropped is no loss."""
    try:
        graph.request("DELETE", f"subscriptions/{quote(subscription_id, safe='')}")
    except GraphError as error:
        log.info(
            "Mailbox %s: deleting replaced subscription %s failed: %s",
            mailbox.id,
            subscription_id,
            error,
        )


def _expiry(settings: Settings) -> datetime:
    return utcnow() + timedelta(minutes=settings.subscription_lifetime_minutes)


def _graph_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _parse_time(value: str) -> datetime:
    # Python 3.11 reads Graph's seven fractional digits and its "Z" suffix.
    return datetime.fromisoformat(value)
