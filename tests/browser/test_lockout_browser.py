"""Lockouts and refused code requests, as the sender reads them in the task pane."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

import pytest
import requests
from playwright.sync_api import expect
from recipient import Recipient as PortalRecipient

from mailgrip.db import db
from mailgrip.mirror.addresses import address_key
from mailgrip.mirror.models import Message, Recipient
from mailgrip.shares.models import Share

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n% Mailgrip lockout test\n%%EOF\n"
BOB = "bob@example.net"


def test_pane_shows_lockout_and_refusal(page, app, live_server, emulator, alice, alice_headers):
    response = requests.post(
        f"{live_server.url}/api/shares",
        files=[("files", ("Report.pdf", PDF, "application/pdf"))],
        headers=alice_headers,
        timeout=30,
    )
    shared = response.json()
    share = db.session.get(Share, shared["id"])
    message = Message(
        mailbox_id=share.owner_mailbox_id,
        graph_id=f"AAMk{secrets.token_hex(8)}=",
        internet_message_id=f"<{secrets.token_hex(6)}@contoso.example>",
        subject="Contract",
        sender_address=alice.address,
        sent_at=datetime.now(UTC),
        share_id=share.id,
    )
    message.recipients.append(
        Recipient(address=BOB, address_key=address_key(BOB), display_name="Bob", kind="to")
    )
    db.session.add(message)
    db.session.commit()
    bob = PortalRecipient(shared["link"], BOB, emulator)
    assert bob.request_code().status_code == 200
    for _ in range(5):
        bob.session.post(f"{bob.link}/verify", timeout=30, data={
            "address": BOB, "code": "000000", "csrf_token": bob.csrf_token(),
        })
    mallory = PortalRecipient(shared["link"], "mallory@evil.example", emulator)
    assert mallory.request_code().status_code == 403
    bob.session.close()
    mallory.session.close()

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    page.get_by_label("Username").fill(alice.address)
    page.get_by_label("Password").fill(alice.password)
    page.get_by_role("button", name="Sign in").click()

    card = page.locator(f"#recipient-{message.recipients[0].id}")
    locked = card.locator(".state").filter(has=page.locator("dt", has_text="Code locked"))
    expect(locked.locator("dd")).to_contain_text("Too many wrong codes or code requests")
    refused = page.locator("#message-level .state").filter(
        has=page.locator("dt", has_text="Forwarded link")
    )
    expect(refused.locator("dd")).to_have_text(re.compile(
        r"^Accessed through a forwarded link: 1 attempt by an address the message was not sent "
        r"to \(from evil\.example\), last "
    ))
