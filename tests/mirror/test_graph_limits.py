"""Graph under load and over time: immutable ids on every request, at most four in flight
per mailbox across job threads, lifecycle notifications, and messages moved out of Sent
Items."""

from __future__ import annotations

from email.message import EmailMessage

import sqlalchemy as sa
from emulator_control import control, post_message
from jobs import subscribed_mailbox, wait_for, wait_until_idle

from mailgrip.access.decision import decide
from mailgrip.db import db
from mailgrip.graph.concurrency import MAX_CONCURRENT_PER_MAILBOX
from mailgrip.mirror.models import Mailbox, Message
from mailgrip.worker import tasks


def _raw(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = "bob@fabrikam.example"
    message["Subject"] = subject
    message.set_content("Hello")
    return message.as_bytes()


def _message_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Message))


def _mailbox() -> Mailbox:
    db.session.rollback()
    return db.session.scalars(sa.select(Mailbox)).one()


def test_every_request_prefers_immutable_ids(
    live_server, app, emulator, alice, alice_headers, consumer
):
    subscribed_mailbox(live_server, alice_headers)
    post_message(emulator, alice.address, "send-from-outlook", _raw("Immutable"))
    wait_for(lambda: _message_count() == 1, what="the message")
    consumer.enqueue(tasks.sync_mailbox, _mailbox().id)
    wait_until_idle(consumer)

    graph_requests = [
        entry
        for entry in control(emulator, "GET", "requests").json()["value"]
        if entry["path"].startswith("/v1.0/")
    ]
    kinds = {(entry["method"], entry["path"].split("/")[2]) for entry in graph_requests}
    assert {("POST", "subscriptions"), ("GET", "users")} <= kinds
    for entry in graph_requests:
        assert 'IdType="ImmutableId"' in entry["prefer"], entry


def test_concurrent_requests_per_mailbox_limited(
    live_server, app, emulator, alice, alice_headers, consumer
):
    mailbox = subscribed_mailbox(live_server, alice_headers)
    control(emulator, "DELETE", "requests")
    # Every request to Alice's mailbox takes a second, so jobs pile up on the limit.
    control(
        emulator,
        "POST",
        "faults",
        json={"status": None, "delaySeconds": 1, "count": 40, "path": f"/v1.0/users/{alice.id}"},
    )

    for number in range(8):
        post_message(emulator, alice.address, "send-from-outlook", _raw(f"Parallel {number}"))
    for _ in range(3):
        consumer.enqueue(tasks.sync_mailbox, mailbox.id)
    wait_for(lambda: _message_count() == 8, timeout=90, what="eight messages")
    wait_until_idle(consumer, timeout=90)
    control(emulator, "DELETE", "faults")

    in_flight = control(emulator, "GET", "requests").json()["maxInFlight"]
    assert in_flight[alice.id.lower()] == MAX_CONCURRENT_PER_MAILBOX


def _subscription(emulator, subscription_id: str) -> dict:
    return next(item for item in emulator.subscriptions() if item["id"] == subscription_id)


def test_reauthorization_renews_subscription(
    live_server, app, emulator, alice, alice_headers, consumer
):
    mailbox = subscribed_mailbox(live_server, alice_headers)
    control(emulator, "DELETE", "requests")

    control(
        emulator,
        "POST",
        f"subscriptions/{mailbox.subscription_id}/lifecycle",
        json={"event": "reauthorizationRequired"},
    )

    def renewed():
        return [
            entry
            for entry in control(emulator, "GET", "requests").json()["value"]
            if entry["method"] == "PATCH" and mailbox.subscription_id in entry["path"]
        ]

    wait_for(renewed, what="the subscription's renewal")
    wait_until_idle(consumer)
    assert _mailbox().subscription_id == mailbox.subscription_id


def test_removed_subscription_recreated(live_server, app, emulator, alice, alice_headers, consumer):
    mailbox = subscribed_mailbox(live_server, alice_headers)
    removed = mailbox.subscription_id

    control(
        emulator,
        "POST",
        f"subscriptions/{removed}/lifecycle",
        json={"event": "subscriptionRemoved"},
    )

    replaced = wait_for(
        lambda: _mailbox().subscription_id != removed and _mailbox(), what="a new subscription"
    )
    wait_until_idle(consumer)
    assert not _subscription(emulator, replaced.subscription_id)["expired"]
    assert all(item["id"] != removed for item in emulator.subscriptions())


def test_missed_notifications_resynced(live_server, app, emulator, alice, alice_headers, consumer):
    mailbox = subscribed_mailbox(live_server, alice_headers)
    wait_until_idle(consumer)
    control(emulator, "POST", "notifications/drop", json={"count": 1})
    post_message(emulator, alice.address, "send-from-outlook", _raw("Missed"))
    wait_until_idle(consumer)
    assert _message_count() == 0

    control(
        emulator,
        "POST",
        f"subscriptions/{mailbox.subscription_id}/lifecycle",
        json={"event": "missed"},
    )

    wait_for(lambda: _message_count() == 1, what="the resync")


def test_moved_message_keeps_access(live_server, app, emulator, alice, alice_headers, consumer):
    subscribed_mailbox(live_server, alice_headers)
    raw = EmailMessage()
    raw["From"] = "Alice Sender <alice@contoso.example>"
    raw["To"] = "bob@fabrikam.example"
    raw["Subject"] = "Moved later"
    raw.set_content("Attached.")
    raw.add_attachment(b"numbers", maintype="text", subtype="plain", filename="numbers.txt")
    sent = post_message(emulator, alice.address, "send-from-outlook", raw.as_bytes())
    wait_for(lambda: _message_count() == 1, what="the message")

    control(
        emulator,
        "POST",
        f"mailboxes/{alice.address}/messages/{sent['messageId']}/move",
        json={"destination": "deleteditems"},
    )
    consumer.enqueue(tasks.sync_mailbox, _mailbox().id)
    wait_until_idle(consumer)

    message = db.session.scalars(sa.select(Message)).one()
    share = message.share
    assert message.in_sent_items is False
    assert share is not None
    assert decide(share, share.files[0], message.recipients[0]).allowed
