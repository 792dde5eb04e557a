"""End to end: a message sent through the emulator gets a delivery state for every recipient.

The worker's jobs (sync, message trace poll, delivery report scan) run once in order, and the
states are read through the task-pane API.
"""

from __future__ import annotations

from delivery_control import (
    configure_trace,
    raw_message,
    run_worker_round,
    set_outcome,
    tracking_by_internet_message_id,
)
from emulator_control import post_message

TO = [
    "bob@fabrikam.example",
    "gone@fabrikam.example",
    "quiet@fabrikam.example",
    "far@remote.example",
    "held@fabrikam.example",
    "junk@fabrikam.example",
    "team@contoso.example",
]
CC = ["carol@fabrikam.example"]
# address: (state, source, detail) that the API must show after one worker round.
EXPECTED = {
    "bob@fabrikam.example": ("delivered", "trace", None),
    # Message trace and a report both report a failure; the report's detail is kept.
    "gone@fabrikam.example": ("failed", "ndr", "550 5.1.1 user unknown"),
    # Only message trace reports the failure, so its detail comes from getDetailsByRecipient.
    "quiet@fabrikam.example": ("failed", "trace", "550 5.4.1 Recipient address rejected"),
    # Message trace saw the next server accept it; the report came later.
    "far@remote.example": ("failed", "ndr", "550 5.7.1 rejected by policy"),
    "held@fabrikam.example": ("quarantined", "trace", None),
    "junk@fabrikam.example": ("filteredAsSpam", "trace", None),
    "team@contoso.example": ("expanded", "trace", None),
    "carol@fabrikam.example": ("pending", "trace", None),
}


def _set_outcomes(emulator) -> None:
    configure_trace(emulator, pendingPolls=0)
    set_outcome(emulator, "gone@fabrikam.example", "failed", detail="550 5.1.1 user unknown")
    set_outcome(
        emulator,
        "quiet@fabrikam.example",
        "failed",
        detail="550 5.4.1 Recipient address rejected",
        report=False,
    )
    set_outcome(
        emulator,
        "far@remote.example",
        "delivered",
        detail="550 5.7.1 rejected by policy",
        report=True,
    )
    set_outcome(emulator, "held@fabrikam.example", "quarantined")
    set_outcome(emulator, "junk@fabrikam.example", "filteredAsSpam")
    set_outcome(
        emulator,
        "team@contoso.example",
        "expanded",
        members=["ann@contoso.example", "ben@contoso.example"],
    )
    set_outcome(emulator, "carol@fabrikam.example", "pending")


def test_delivery_state_for_every_recipient(client, app, emulator, alice, alice_headers):
    assert client.get("/api/messages", headers=alice_headers).status_code == 200
    _set_outcomes(emulator)
    sent = post_message(
        emulator, alice.address, "send-from-outlook", raw_message("Figures", TO, CC)
    )

    run_worker_round(app)

    found = tracking_by_internet_message_id(client, alice_headers, sent["internetMessageId"])
    received = {item["address"]: item["received"] for item in found["recipients"]}
    assert set(received) == set(EXPECTED)
    for address, (state, source, detail) in EXPECTED.items():
        assert received[address]["state"] == state, address
        assert received[address]["source"] == source, address
        assert received[address]["detail"] == detail, address
        assert received[address]["at"] is not None, address


def test_unknown_until_a_source_reports(client, app, emulator, alice, alice_headers):
    assert client.get("/api/messages", headers=alice_headers).status_code == 200
    configure_trace(emulator, pendingPolls=2)
    sent = post_message(
        emulator, alice.address, "send-from-outlook", raw_message("Fresh", ["bob@fabrikam.example"])
    )

    run_worker_round(app)

    found = tracking_by_internet_message_id(client, alice_headers, sent["internetMessageId"])
    assert found["recipients"][0]["received"] == {
        "state": "unknown",
        "detail": None,
        "at": None,
        "source": None,
    }
