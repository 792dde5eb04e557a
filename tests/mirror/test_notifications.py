"""Change notifications end to end: subscription, notification, job, task-pane API."""

from __future__ import annotations

import time
from email.message import EmailMessage

import requests
from emulator_control import post_message
from jobs import subscribed_mailbox, wait_for

VISIBLE_WITHIN_SECONDS = 2.0


def _raw(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = "Bob Recipient <bob@fabrikam.example>"
    message["Cc"] = "carol@northwind.example"
    message["Subject"] = subject
    message.set_content("The report is attached.")
    message.add_attachment(
        b"%PDF-1.7\n%%EOF\n", maintype="application", subtype="pdf", filename="report.pdf"
    )
    return message.as_bytes()


def test_sent_message_shows_within_two_seconds(
    live_server, app, emulator, alice, alice_headers, consumer
):
    subscribed_mailbox(live_server, alice_headers)

    sent = post_message(emulator, alice.address, "send-from-outlook", _raw("Quarterly report"))

    delivery = wait_for(
        lambda: next(
            (
                item
                for item in emulator.notification_deliveries()
                if item.get("messageId") == sent["messageId"]
            ),
            None,
        ),
        what="the emulator's notification",
    )
    deadline = delivery["postedAt"] + VISIBLE_WITHIN_SECONDS
    tracking = None
    while time.time() < deadline:
        response = requests.get(
            f"{live_server.url}/api/messages/lookup",
            params={"graphId": sent["messageId"]},
            headers=alice_headers,
            timeout=5,
        )
        if response.status_code == 200:
            tracking = response.json()
            break
        time.sleep(0.05)
    assert delivery["status"] == 202
    assert tracking is not None, (
        "the message was not in the task-pane API 2 s after its notification"
    )
    assert tracking["subject"] == "Quarterly report"
    assert sorted(r["address"] for r in tracking["recipients"]) == [
        "bob@fabrikam.example",
        "carol@northwind.example",
    ]
