"""The task pane's "Received" row in headless Chromium, after a worker round."""

from __future__ import annotations

import re

import pytest
from delivery_control import (
    configure_trace,
    raw_message,
    run_worker_round,
    set_outcome,
    tracking_by_internet_message_id,
)
from emulator_control import post_message
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# address: the words the pane shows, and the detail it shows with them.
EXPECTED = {
    "bob@fabrikam.example": ("Delivered", None),
    "gone@fabrikam.example": ("Failed", "550 5.1.1 user unknown"),
    "held@fabrikam.example": ("Quarantined", None),
    "junk@fabrikam.example": ("Filtered as spam", None),
    "team@contoso.example": ("Expanded (a distribution list)", None),
    "carol@fabrikam.example": ("Pending", None),
}


def test_pane_shows_received_words(page, client, app, live_server, emulator, alice, alice_headers):
    assert client.get("/api/messages", headers=alice_headers).status_code == 200
    configure_trace(emulator, pendingPolls=0)
    set_outcome(emulator, "gone@fabrikam.example", "failed", detail="550 5.1.1 user unknown")
    set_outcome(emulator, "held@fabrikam.example", "quarantined")
    set_outcome(emulator, "junk@fabrikam.example", "filteredAsSpam")
    set_outcome(emulator, "team@contoso.example", "expanded", members=["ann@contoso.example"])
    set_outcome(emulator, "carol@fabrikam.example", "pending")
    sent = post_message(
        emulator, alice.address, "send-from-outlook", raw_message("Figures", list(EXPECTED))
    )
    run_worker_round(app)
    tracking = tracking_by_internet_message_id(client, alice_headers, sent["internetMessageId"])
    ids = {item["address"]: item["id"] for item in tracking["recipients"]}

    page.goto(f"{live_server.url}/taskpane?messageId={tracking['id']}")
    page.get_by_label("Username").fill(alice.address)
    page.get_by_label("Password").fill(alice.password)
    page.get_by_role("button", name="Sign in").click()

    for address, (words, detail) in EXPECTED.items():
        card = page.locator(f"#recipient-{ids[address]}")
        term = page.locator("dt", has_text=re.compile("^Received$"))
        received = card.locator(".state").filter(has=term).locator("dd")
        # The time follows the words, as in "Delivered, 10:04 AM".
        expect(received).to_contain_text(f"{words}, ")
        if detail:
            expect(received.locator(".detail")).to_have_text(detail)
        else:
            expect(received.locator(".detail")).to_have_count(0)
