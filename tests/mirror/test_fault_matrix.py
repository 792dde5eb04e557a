"""Each fault of the real service, injected while a mailbox syncs, ends with the same mirror
as a fault-free run: the same messages, recipients, shares and events, and no duplicates."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
import requests
import sqlalchemy as sa
from emulator_control import control, post_message
from jobs import subscribed_mailbox, wait_for, wait_until_idle

from mailgrip.db import db
from mailgrip.mirror.models import Mailbox, Message, Recipient
from mailgrip.shares.models import Share
from mailgrip.tracking.models import Event
from mailgrip.worker import tasks

RECIPIENTS = (("to", "bob@fabrikam.example"), ("cc", "carol@northwind.example"))
SUBJECTS = ("Before 1", "Before 2", "During 1", "During 2")


def _raw(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = RECIPIENTS[0][1]
    message["Cc"] = RECIPIENTS[1][1]
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '-').lower()}@contoso.example>"
    message.set_content(f"{subject}: the files are attached.")
    message.add_attachment(
        subject.encode(), maintype="text", subtype="plain", filename=f"{subject}.txt"
    )
    return message.as_bytes()


def canonical_dump() -> dict:
    """Return the mirror in a form that does not depend on row ids or Graph ids."""
    db.session.rollback()  # read what the jobs committed
    messages = []
    for message in db.session.scalars(sa.select(Message)):
        share = db.session.get(Share, message.share_id) if message.share_id else None
        messages.append(
            (
                message.subject,
                message.internet_message_id,
                message.in_sent_items,
                tuple(sorted(file.display_name for file in share.files)) if share else (),
                tuple(sorted((r.kind, r.address_key) for r in message.recipients)),
            )
        )
    events = [
        (event.kind, db.session.get(Message, event.message_id).subject)
        for event in db.session.scalars(sa.select(Event))
    ]
    return {
        "messages": sorted(messages),
        "message_rows": db.session.scalar(sa.select(sa.func.count()).select_from(Message)),
        "recipient_rows": db.session.scalar(sa.select(sa.func.count()).select_from(Recipient)),
        "share_rows": db.session.scalar(sa.select(sa.func.count()).select_from(Share)),
        "events": sorted(events),
    }


def expected_dump(opened_subject: str) -> dict:
    """Return the mirror that a fault-free run produces from the messages of this module."""
    return {
        "messages": sorted(
            (
                subject,
                f"<{subject.replace(' ', '-').lower()}@contoso.example>",
                True,
                (f"{subject}.txt",),
                tuple(sorted(RECIPIENTS)),
            )
            for subject in SUBJECTS
        ),
        "message_rows": len(SUBJECTS),
        "recipient_rows": len(SUBJECTS) * len(RECIPIENTS),
        "share_rows": len(SUBJECTS),
        "events": [("opened", opened_subject)],
    }


def _inject(emulator, alice, mailbox: Mailbox, fault: str) -> None:
    user_path = f"/v1.0/users/{alice.id}"
    if fault == "throttled":
        control(emulator, "POST", "faults", json={"status": 429, "retryAfter": 1, "count": 2})
    elif fault == "throttled-beyond-retries":
        # More 429s than the client's attempts, so the job must resume later.
        control(
            emulator,
            "POST",
            "faults",
            json={"status": 429, "retryAfter": 1, "count": 6, "path": "/delta"},
        )
    elif fault == "unavailable":
        control(emulator, "POST", "faults", json={"status": 503, "retryAfter": 1, "count": 3})
    elif fault == "sync-state-not-found":
        control(emulator, "POST", f"mailboxes/{alice.address}/delta/expire")
    elif fault == "gone":
        control(emulator, "POST", "faults", json={"status": 410, "path": "/delta"})
    elif fault == "slow":
        control(
            emulator,
            "POST",
            "faults",
            json={"status": None, "delaySeconds": 0.5, "count": 4, "path": user_path},
        )
    elif fault == "dropped-notifications":
        control(emulator, "POST", "notifications/drop", json={"count": 2})
    elif fault == "expired-subscription":
        control(emulator, "POST", f"subscriptions/{mailbox.subscription_id}/expire")
    else:
        assert fault == "none", fault


FAULTS = [
    "none",
    "throttled",
    "throttled-beyond-retries",
    "unavailable",
    "sync-state-not-found",
    "gone",
    "slow",
    "dropped-notifications",
    "expired-subscription",
]


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_leaves_same_mirror(
    fault, live_server, app, emulator, alice, alice_headers, consumer, monkeypatch
):
    mailbox = subscribed_mailbox(live_server, alice_headers)
    first_subscription = mailbox.subscription_id
    sent = [
        post_message(emulator, alice.address, "send-from-outlook", _raw(s)) for s in SUBJECTS[:2]
    ]
    wait_for(lambda: canonical_dump()["message_rows"] == 2, what="the first two messages")
    opened = requests.get(sent[0]["openTrackingUrl"], timeout=10)
    assert opened.status_code == 200

    _inject(emulator, alice, mailbox, fault)
    for subject in SUBJECTS[2:]:
        post_message(emulator, alice.address, "send-from-outlook", _raw(subject))
    # A sync that meets the fault, and the periodic fallback run now. With no quiet period,
    # every mailbox counts as quiet unless a notification arrives at this very moment.
    consumer.enqueue(tasks.sync_mailbox, mailbox.id)
    monkeypatch.setitem(app.extensions["mailgrip.settings"].values, "delta_fallback_minutes", 0)
    consumer.enqueue(tasks.sync_quiet_mailboxes)
    wait_for(
        lambda: canonical_dump()["message_rows"] == len(SUBJECTS),
        timeout=60,
        what="every message to be mirrored",
    )
    wait_until_idle(consumer)

    assert canonical_dump() == expected_dump(SUBJECTS[0])
    # Every injected fault was met during the run.
    assert control(emulator, "GET", "faults").json()["value"] == []
    dropped = [d for d in emulator.notification_deliveries() if d["dropped"]]
    assert len(dropped) == (2 if fault == "dropped-notifications" else 0)
    db.session.refresh(mailbox)
    assert mailbox.last_sync_error is None
    assert mailbox.delta_link
    if fault == "expired-subscription":
        assert mailbox.subscription_id != first_subscription
        active = [s for s in emulator.subscriptions() if not s["expired"]]
        assert [s["id"] for s in active] == [mailbox.subscription_id]
