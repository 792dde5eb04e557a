"""Calls to the emulator's message trace controls, a raw message to send, and a worker round."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import make_msgid

from emulator_control import control

from mailgrip.mirror.sync import sync_all
from mailgrip.services import services
from mailgrip.settings import current_settings
from mailgrip.worker import tasks


def set_outcome(emulator, address: str, status: str, **fields) -> None:
    """Set what happens to mail sent to ``address``: see ``POST /_emulator/delivery-outcomes``."""
    control(
        emulator, "POST", "delivery-outcomes", json={"address": address, "status": status, **fields}
    )


def configure_trace(emulator, **fields) -> None:
    """Set pendingPolls, finalAfterSeconds, throttleRequests or throttleWindowSeconds."""
    control(emulator, "POST", "message-traces/config", json=fields)


def trace_requests(emulator) -> int:
    """Return how many message trace requests the emulator has received since its reset."""
    return control(emulator, "GET", "message-traces").json()["requests"]


def serve_trace_row(emulator, address: str, received: str | None) -> None:
    """Answer the next message trace request with one delivered row for ``address``.

    The emulator dates its own rows at the second of sending, so a row of a message delivered
    minutes before the poll comes from a page set here.
    """
    row = {"id": "9d2e8f41-trace", "recipientAddress": address, "status": "Delivered"}
    if received is not None:
        row["receivedDateTime"] = received
    body = json.dumps({"value": [row]})
    control(emulator, "POST", "message-traces/malformed", json={"body": body})


def raw_message(subject: str, to: list[str], cc: list[str] | None = None) -> bytes:
    """Return an RFC 5322 message from Alice, with a Message-ID of its own."""
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="contoso.example")
    message.set_content("The figures are in the secure link.")
    return message.as_bytes()


def tracking_by_internet_message_id(client, headers: dict, internet_message_id: str) -> dict:
    """Return the task-pane API's tracking of the caller's message with that Message-ID."""
    response = client.get(
        "/api/messages/lookup",
        query_string={"internetMessageId": internet_message_id},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def run_worker_round(app) -> None:
    """Run the worker's sync and delivery jobs once, in order, as the consumer would."""
    with app.app_context():
        sync_all(services().graph, current_settings())
        tasks.poll_message_traces()
        tasks.scan_delivery_reports()
