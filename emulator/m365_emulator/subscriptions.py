"""Graph subscriptions to mail folders: creation with the validation handshake, renewal,
expiry, and change and lifecycle notifications POSTed to the subscriber.

Notifications leave from one background thread in the order the changes happened, as
Graph delivers them asynchronously. Every delivery is recorded with the time it was POSTed,
so tests can measure from that moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from .directory import EmulatorConfig, is_loopback_host
from .model import Message

log = logging.getLogger(__name__)

# Graph's maximum subscription lifetime for Outlook messages, as Microsoft documented it.
MAX_MESSAGE_LIFETIME_MINUTES = 4230
# Graph requires the validation echo within 10 seconds.
VALIDATION_TIMEOUT_SECONDS = 10
DELIVERY_TIMEOUT_SECONDS = 10
MAX_DELIVERY_RECORDS = 5_000
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
_RESOURCE = re.compile(
    r"^/?(?:users/(?P<user>[^/]+)|me)"
    r"(?:/mailFolders(?:\('(?P<quoted>[^']+)'\)|\((?P<bare>[^)]+)\)|/(?P<path>[^/]+)))?"
    r"/messages$",
    re.IGNORECASE,
)


class SubscriptionRejected(ValueError):
    """A subscription request is invalid; ``code`` and the message are Graph's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Resource:
    """The messages a subscription watches: a user's, in one folder or in all."""

    user_key: str
    folder_key: str | None


def parse_resource(resource: str) -> Resource:
    """Parse ``users/{id}/mailFolders('{folder}')/messages`` and its spellings.

    :raise SubscriptionRejected: the resource is not a message collection of a mailbox.
    """
    match = _RESOURCE.match(resource.strip())
    if match is None or match.group("user") is None:
        raise SubscriptionRejected(
            400,
            "InvalidRequest",
            f"Resource '{resource}' is not supported; use users/{{id}}/mailFolders('{{folder}}')"
            "/messages or users/{id}/messages.",
        )
    folder = match.group("quoted") or match.group("bare") or match.group("path")
    return Resource(unquote(match.group("user")), folder)


@dataclass
class Subscription:
    id: str
    resource: str
    user_id: str
    folder: str | None  # well-known folder name, or None for every folder
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: dt.datetime
    application_id: str
    tenant_id: str
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def expired(self) -> bool:
        return self.expiration <= dt.datetime.now(dt.UTC)

    def to_json(self, base: str) -> dict[str, Any]:
        return {
            "@odata.context": f"{base}/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": ",".join(sorted(self.change_types)),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_time(self.expiration),
            "creatorId": self.application_id,
            "latestSupportedTlsVersion": "v1_2",
            "notificationUrlAppId": None,
            "includeResourceData": False,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
        }


def graph_time(value: dt.datetime) -> str:
    """Format a time as Graph does: UTC with seven fractional digits and ``Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def parse_expiration(raw: Any) -> dt.datetime:
    """Parse ``expirationDateTime`` and check it against the lifetime limits.

    :raise SubscriptionRejected: missing, unparsable, in the past or too far ahead.
    """
    if not isinstance(raw, str) or not raw:
        raise SubscriptionRejected(400, "InvalidRequest", "expirationDateTime is required.")
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise SubscriptionRejected(
            400, "InvalidRequest", f"expirationDateTime '{raw}' is not an ISO 8601 time."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    if value <= now:
        raise SubscriptionRejected(
            400, "InvalidRequest", "Subscription expiration must be in the future."
        )
    if value > now + dt.timedelta(minutes=MAX_MESSAGE_LIFETIME_MINUTES):
        raise SubscriptionRejected(
            400,
            "InvalidRequest",
            f"Subscription expiration can only be {MAX_MESSAGE_LIFETIME_MINUTES} minutes in "
            "the future.",
        )
    return value


def check_endpoint(url: Any, name: str) -> str:
    """Check that a notification URL is an http(s) URL on loopback, where the emulator posts.

    NOTE: Graph requires https; the emulator also accepts http, because Mailgrip's test and
    demo servers listen on plain HTTP on loopback.

    :raise SubscriptionRejected: the URL is missing or not on loopback.
    """
    if not isinstance(url, str) or not url:
        raise SubscriptionRejected(400, "InvalidRequest", f"{name} is required.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not is_loopback_host(parts.hostname or ""):
        raise SubscriptionRejected(
            400,
            "InvalidRequest",
            f"{name} '{url}' is not reachable from the emulator; it posts only to http(s) "
            "URLs on 127.0.0.1, ::1 or localhost.",
        )
    return url


def validate_endpoint(url: str, verify: str | bool = True) -> None:
    """Run Graph's validation handshake: POST ``?validationToken=`` and expect the echo.

    :param verify: requests' ``verify=``: the CA file of a Mailgrip with a development
        certificate, or True for the system's CAs.

    :raise SubscriptionRejected: no 200 text/plain echo of the token within 10 seconds.
    """
    # Graph's tokens are sentences with spaces and colons, which the receiver must decode.
    token = (
        "Validation: Testing client application reachability for subscription Request-Id: "
        f"{uuid.uuid4()}"
    )
    separator = "&" if "?" in url else "?"
    try:
        response = requests.post(
            f"{url}{separator}validationToken={quote(token, safe='')}",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=VALIDATION_TIMEOUT_SECONDS,
            verify=verify,
        )
        echoed = (
            response.status_code == 200
            and response.headers.get("Content-Type", "").startswith("text/plain")
            and response.text == token
        )
    except requests.RequestException as error:
        log.info("Validation of %s failed: %s", url, error)
        echoed = False
    if not echoed:
        raise SubscriptionRejected(
            400,
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with "
            "200 OK to validation request.",
        )


class SubscriptionStore:
    """Subscriptions of the tenant, and the thread that delivers their notifications."""

    def __init__(self, config: EmulatorConfig) -> None:
        # Read at each post: the demo names Mailgrip's CA only after the emulator has started.
        self._config = config
        self._tenant_id = config.tenant_id
        self._lock = threading.Lock()
        self._subscriptions: dict[str, Subscription] = {}
        self._deliveries: list[dict[str, Any]] = []
        self._drop = 0
        self._outgoing: queue.Queue[tuple[str, str, dict[str, Any], dict[str, Any]]] = queue.Queue()
        self._sender: threading.Thread | None = None

    # Subscriptions

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions[subscription.id] = subscription

    def find(self, subscription_id: str, include_expired: bool = False) -> Subscription | None:
        with self._lock:
            found = self._subscriptions.get(subscription_id)
        if found is None or (found.expired and not include_expired):
            return None
        return found

    def all(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.values())

    def remove(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            return self._subscriptions.pop(subscription_id, None)

    def expire(self, subscription_id: str) -> Subscription | None:
        """Make a subscription expire now: it stops notifying, and Graph returns 404 for it."""
        with self._lock:
            found = self._subscriptions.get(subscription_id)
            if found is not None:
                found.expiration = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            return found

    def reset(self) -> None:
        with self._lock:
            self._subscriptions.clear()
            self._deliveries.clear()
            self._drop = 0

    # Notifications

    def drop_next(self, count: int) -> None:
        """Lose the next ``count`` change notifications, as a delivery that never arrives."""
        with self._lock:
            self._drop += count

    def message_filed(self, user_id: str, message: Message, folder: str) -> None:
        """Queue a ``created`` notification for every subscription that watches the folder.

        Called under the mailbox lock, so it only queues; the sender thread posts.
        """
        for subscription in self.all():
            if (
                subscription.user_id != user_id
                or subscription.expired
                or "created" not in subscription.change_types
                or subscription.folder not in (None, folder)
            ):
                continue
            resource = f"Users/{user_id}/Messages/{message.id}"
            notification = {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": graph_time(subscription.expiration),
                "changeType": "created",
                "resource": resource,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Message",
                    "@odata.id": resource,
                    "@odata.etag": f'W/"{message.change_key}"',
                    "id": message.id,
                },
                "clientState": subscription.client_state,
                "tenantId": self._tenant_id,
            }
            record = {"kind": "change", "subscriptionId": subscription.id, "messageId": message.id}
            self._send(subscription.notification_url, notification, record)

    def lifecycle(self, subscription: Subscription, event: str) -> None:
        """Queue a lifecycle notification; ``subscriptionRemoved`` also deletes the subscription.

        :raise SubscriptionRejected: unknown event, or no lifecycleNotificationUrl.
        """
        if event not in LIFECYCLE_EVENTS:
            raise SubscriptionRejected(
                400,
                "InvalidRequest",
                f"event {event!r} is unknown; use {sorted(LIFECYCLE_EVENTS)}.",
            )
        if not subscription.lifecycle_url:
            raise SubscriptionRejected(
                409, "InvalidRequest", f"Subscription {subscription.id} has no lifecycle URL."
            )
        notification = {
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": graph_time(subscription.expiration),
            "tenantId": self._tenant_id,
            "clientState": subscription.client_state,
            "lifecycleEvent": event,
        }
        if event == "subscriptionRemoved":
            self.remove(subscription.id)
        record = {"kind": "lifecycle", "subscriptionId": subscription.id, "event": event}
        self._send(subscription.lifecycle_url, notification, record)

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in self._deliveries]

    def _send(self, url: str, notification: dict[str, Any], record: dict[str, Any]) -> None:
        self._outgoing.put((secrets.token_hex(8), url, {"value": [notification]}, record))
        with self._lock:
            if self._sender is None or not self._sender.is_alive():
                self._sender = threading.Thread(
                    target=self._deliver_forever, name="m365-notifications", daemon=True
                )
                self._sender.start()

    def _deliver_forever(self) -> None:
        session = requests.Session()
        while True:
            delivery_id, url, body, record = self._outgoing.get()
            with self._lock:
                dropped = self._drop > 0 and record["kind"] == "change"
                if dropped:
                    self._drop -= 1
            entry = {**record, "id": delivery_id, "dropped": dropped, "postedAt": time.time()}
            if not dropped:
                try:
                    response = session.post(
                        url,
                        json=body,
                        timeout=DELIVERY_TIMEOUT_SECONDS,
                        verify=self._config.mailgrip_verify,
                    )
                    entry["status"] = response.status_code
                except requests.RequestException as error:
                    log.info("Notification to %s failed: %s", url, error)
                    entry["status"] = None
            with self._lock:
                self._deliveries.append(entry)
                del self._deliveries[:-MAX_DELIVERY_RECORDS]
