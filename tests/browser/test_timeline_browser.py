"""The pane's evidence texts and timeline, and the portal page's script, in headless Chromium."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pane_helpers import sign_in as _sign_in
from pane_helpers import state_value as _state
from playwright.sync_api import expect
from portal_helpers import events
from recipient import Recipient as PortalRecipient
from tracking_helpers import GMAIL_PROXY

from mailgrip.db import db
from mailgrip.mirror.addresses import address_key
from mailgrip.mirror.models import Message, Recipient
from mailgrip.shares.models import Share
from mailgrip.tracking.models import Event

PDF = b"%PDF-1.4\n% Mailgrip timeline test\n%%EOF\n"

pytestmark = pytest.mark.browser


def _share_sent_earlier(live_server, headers, recipients: list[str], verification="code"):
    """Create a share through the API and its mirrored message, sent two hours ago."""
    response = requests.post(
        f"{live_server.url}/api/shares",
        files=[("files", ("Report.pdf", PDF, "application/pdf"))],
        data={"verification": verification},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    shared = response.json()
    share = db.session.get(Share, shared["id"])
    message = Message(
        mailbox_id=share.owner_mailbox_id,
        graph_id=f"AAMk{secrets.token_hex(8)}=",
        internet_message_id=f"<{secrets.token_hex(6)}@contoso.example>",
        subject="Figures",
        sender_address=share.owner.address,
        sent_at=datetime.now(UTC) - timedelta(hours=2),
        share_id=share.id,
    )
    for address in recipients:
        message.recipients.append(
            Recipient(address=address, address_key=address_key(address), kind="to")
        )
    db.session.add(message)
    db.session.commit()
    return shared, message


def test_pane_shows_evidence_and_timeline(
    page, app, live_server, emulator, alice, alice_headers, tmp_path
):
    shared, message = _share_sent_earlier(live_server, alice_headers, ["bob@example.net"])
    (bob_row,) = message.recipients
    requests.get(shared["openTrackingUrl"], headers={"User-Agent": GMAIL_PROXY}, timeout=30)
    requests.get(shared["link"], timeout=30)  # a link checker
    bob = PortalRecipient(shared["link"], "bob@example.net", emulator)
    assert bob.verify().status_code == 200
    (file_id,) = bob.file_ids()
    assert bob.download(file_id).status_code == 200
    # A kind that a newer Mailgrip may add, shown by its name.
    db.session.add(Event(kind="future_kind", share_id=shared["id"], message_id=message.id,
                         classification="unknown", classification_reasons=["test"], detail={}))
    db.session.commit()

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)

    card = page.locator(f"#recipient-{bob_row.id}")
    expect(_state(card, "Opened")).to_contain_text("Yes (downloaded, verified as bob@example.net)")
    message_level = page.locator("#message-level")
    expect(_state(message_level, "Downloads")).to_contain_text(
        "Yes (downloaded, verified as bob@example.net)"
    )
    timeline = page.locator("#timeline")
    expect(timeline.locator(".timeline-entry.is-scanner")).to_have_count(1)
    expect(timeline.locator(".timeline-entry.is-proxy")).to_contain_text("Mail proxy")
    expect(timeline.locator(".timeline-entry.is-proxy")).to_contain_text(
        "user agent of the Gmail image proxy"
    )
    expect(timeline).to_contain_text("Event: future_kind")
    expect(timeline.locator(".timeline-entry").first).to_contain_text("Event: future_kind")
    downloaded = timeline.locator(".timeline-entry", has_text="File downloaded")
    expect(downloaded).to_contain_text("bob@example.net")
    expect(downloaded).to_contain_text("Report.pdf")
    # Kept under pytest's tmp_path for a person to look at the 320 px layout.
    page.screenshot(path=tmp_path / "timeline.png", full_page=True)

    page.get_by_label("People only").check()
    expect(timeline.locator(".timeline-entry.is-scanner")).to_have_count(0)
    expect(timeline.locator(".timeline-entry.is-proxy")).to_have_count(0)
    expect(timeline.locator(".timeline-entry")).not_to_have_count(0)
    labels = timeline.locator(".timeline-entry").evaluate_all(
        "entries => entries.map(entry => entry.dataset.label)"
    )
    assert set(labels) == {"person"}

    page.get_by_label("People only").uncheck()
    expect(timeline.locator(".timeline-entry.is-scanner")).to_have_count(1)


def test_pane_says_scanner_checked_link(page, app, live_server, alice, alice_headers):
    shared, message = _share_sent_earlier(live_server, alice_headers, ["bob@example.net"])
    requests.head(shared["link"], timeout=30)

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)

    expect(_state(page.locator("#message-level"), "Link opened")).to_contain_text(
        "Not confirmed (link checked by a security scanner)"
    )
    expect(page.locator("#message-level .state.is-yes")).to_have_count(0)


def test_pane_shows_forwarded_access(page, app, live_server, emulator, alice, alice_headers):
    shared, message = _share_sent_earlier(live_server, alice_headers, ["bob@example.net"])
    stranger = PortalRecipient(shared["link"], "mallory@evil.example", emulator)
    assert stranger.request_code().status_code == 403

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)

    expect(_state(page.locator("#message-level"), "Forwarded link")).to_contain_text(
        "Accessed through a forwarded link: 1 attempt by an address the message was not sent to"
    )
    expect(page.locator("#timeline")).to_contain_text(
        "Someone at evil.example, which the message was not sent to"
    )


def test_portal_script_confirms_visit(page, app, live_server, alice_headers):
    shared, _ = _share_sent_earlier(live_server, alice_headers, ["bob@example.net"])

    # The script posts when the page has loaded; the response arrives a moment later.
    with page.expect_response(lambda response: response.url.endswith("/seen")) as posted:
        page.goto(shared["link"])
    assert posted.value.status == 204
    (script,) = events("page_script_ran")
    (visit,) = events("link_opened")
    assert script.detail == {"visit": visit.id}
    # Headless Chromium names itself "HeadlessChrome", which is on the crawler list.
    assert script.classification == "scanner"


def test_pane_marks_sender_browser(page, app, live_server, alice, alice_headers):
    shared, message = _share_sent_earlier(live_server, alice_headers, ["bob@example.net"])
    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)
    expect(page.locator("#message-subject")).to_have_text("Figures")

    page.goto(shared["link"])
    expect(page.locator("h1")).to_contain_text("Files from")

    (visit,) = events("link_opened")
    assert visit.classification == "sender"
