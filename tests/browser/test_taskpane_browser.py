"""The task pane in headless Chromium: sign in, read the states, block, and check the portal.

Shares are created through the real API as the add-in does. The mirrored message is added as
rows, as the Sent Items sync would add them, so that each test chooses its recipients.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
from pane_helpers import sign_in as _sign_in
from pane_helpers import state_value as _state
from playwright.sync_api import expect
from recipient import Recipient as PortalRecipient

from mailgrip.db import db
from mailgrip.mirror.addresses import address_key
from mailgrip.mirror.models import Message, Recipient
from mailgrip.shares.models import File, Share

MARKUP = "<img src=x onerror=alert(1)>"
# Gmail fetches images through its proxy, which shows that the message arrived, not that
# anyone read it.
GMAIL_IMAGE_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
PDF = b"%PDF-1.4\n% Mailgrip browser test\n%%EOF\n"

pytestmark = pytest.mark.browser


def _upload_share(live_server, headers: dict[str, str], files: dict[str, bytes]) -> dict:
    """Create a share through the API, as the add-in does while the user writes."""
    parts = [("files", (name, content, "application/pdf")) for name, content in files.items()]
    response = requests.post(
        f"{live_server.url}/api/shares", files=parts, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()


def _mirror_message(share_id: str, subject: str, recipients: list[tuple[str, str]]) -> Message:
    """Add the mirror of the sent message that carries the share, as the sync would."""
    share = db.session.get(Share, share_id)
    message = Message(
        mailbox_id=share.owner_mailbox_id,
        graph_id=f"AAMk{secrets.token_hex(8)}=",
        internet_message_id=f"<{secrets.token_hex(6)}@contoso.example>",
        subject=subject,
        sender_address=share.owner.address,
        sent_at=datetime.now(UTC),
        share_id=share.id,
    )
    for display_name, address in recipients:
        message.recipients.append(
            Recipient(
                address=address,
                address_key=address_key(address),
                display_name=display_name,
                kind="to",
            )
        )
    db.session.add(message)
    db.session.commit()
    return message


def _file_id(share_id: str) -> int:
    return db.session.scalar(sa.select(File.id).where(File.share_id == share_id))


def _download(recipient: PortalRecipient, file_id: int, csrf_token: str) -> int:
    """Post a download from a portal page loaded earlier, as its Download button does.

    A reloaded portal page offers no button for a blocked file, so the refusal is checked
    on a page that was open before the block.
    """
    response = recipient.session.post(
        f"{recipient.link}/files/{file_id}", data={"csrf_token": csrf_token}, timeout=30
    )
    response.close()
    return response.status_code


def test_pane_block_refuses_download(
    page, app, live_server, emulator, alice, alice_headers, tmp_path
):
    shared = _upload_share(live_server, alice_headers, {"Report.pdf": PDF})
    message = _mirror_message(
        shared["id"],
        "Quarterly figures",
        [("Bob Receiver", "bob@example.net"), ("Carol Reader", "carol@example.net")],
    )
    bob_id, carol_id = (r.id for r in message.recipients)
    file_id = _file_id(shared["id"])
    bob = PortalRecipient(shared["link"], "bob@example.net", emulator)
    assert bob.verify().status_code == 200
    bob_csrf = bob.csrf_token()
    assert _download(bob, file_id, bob_csrf) == 200

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)

    expect(page.locator("#message-subject")).to_have_text("Quarterly figures")
    bob_card = page.locator(f"#recipient-{bob_id}")
    expect(bob_card.locator("h3")).to_have_text("Bob Receiver")
    expect(_state(bob_card, "Sent")).to_contain_text("Yes")
    expect(_state(bob_card, "Received")).to_have_text("Unknown")
    expect(_state(bob_card, "Opened")).to_contain_text(
        "Yes (downloaded, verified as bob@example.net)"
    )
    expect(_state(bob_card, "Link opened")).to_contain_text("Yes (verified as bob@example.net)")
    expect(_state(bob_card, "Downloads")).to_contain_text("Report.pdf: 1 download")
    carol_card = page.locator(f"#recipient-{carol_id}")
    expect(_state(carol_card, "Opened")).to_have_text("Not yet")
    expect(_state(carol_card, "Downloads")).to_have_text("None")
    expect(page.locator("#updated")).to_contain_text("Updated")
    # Kept under pytest's tmp_path for a person to look at the 320 px layout.
    page.screenshot(path=tmp_path / "taskpane.png", full_page=True)

    block_file = page.get_by_role("switch", name="Block this file")
    expect(block_file).not_to_be_checked()
    block_file.click()
    file_card = page.locator(f"#file-{file_id}")
    expect(file_card.locator(".badge-blocked")).to_have_text("Blocked")
    expect(page.locator("#history")).to_contain_text("File Report.pdf")

    page.reload()
    expect(page.get_by_role("switch", name="Block this file")).to_be_checked()
    assert _download(bob, file_id, bob_csrf) == 403
    assert bob.file_ids() == []

    page.get_by_role("switch", name="Block this file").click()
    expect(file_card.locator(".badge-blocked")).to_have_count(0)
    expect(page.locator("#history")).to_contain_text("Lifted by alice@contoso.example")
    assert _download(bob, file_id, bob_csrf) == 200


def test_pane_block_recipient_and_everything(
    page, app, live_server, emulator, alice, alice_headers
):
    shared = _upload_share(live_server, alice_headers, {"Report.pdf": PDF})
    message = _mirror_message(
        shared["id"],
        "Contract",
        [("Bob Receiver", "bob@example.net"), ("Carol Reader", "carol@example.net")],
    )
    bob_id = message.recipients[0].id
    file_id = _file_id(shared["id"])
    bob = PortalRecipient(shared["link"], "bob@example.net", emulator)
    carol = PortalRecipient(shared["link"], "carol@example.net", emulator)
    assert bob.verify().status_code == 200
    assert carol.verify().status_code == 200
    bob_csrf = bob.csrf_token()
    carol_csrf = carol.csrf_token()

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)
    bob_card = page.locator(f"#recipient-{bob_id}")
    # By keyboard: the switch keeps focus although the card is rebuilt after the change.
    bob_switch = bob_card.get_by_role("switch", name="Block this recipient")
    bob_switch.focus()
    page.keyboard.press("Space")
    expect(bob_card.locator(".badge-blocked")).to_have_text("Blocked")
    expect(bob_switch).to_be_checked()
    expect(bob_switch).to_be_focused()

    assert _download(bob, file_id, bob_csrf) == 403
    assert _download(carol, file_id, carol_csrf) == 200

    page.get_by_role("switch", name="Block everything").click()
    expect(page.locator("#block-all-hint")).to_contain_text("Everything is blocked")
    assert _download(carol, file_id, carol_csrf) == 403

    page.get_by_role("switch", name="Block everything").click()
    expect(page.locator("#block-all-hint")).not_to_contain_text("Everything is blocked")
    expect(page.get_by_role("switch", name="Block everything")).not_to_be_checked()
    assert _download(carol, file_id, carol_csrf) == 200
    assert _download(bob, file_id, bob_csrf) == 403


def test_pane_shows_markup_as_text(page, app, live_server, alice, alice_headers):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    shared = _upload_share(live_server, alice_headers, {f"{MARKUP}.pdf": PDF})
    message = _mirror_message(shared["id"], MARKUP, [(MARKUP, "eve@example.net")])
    recipient_id = message.recipients[0].id
    file_id = _file_id(shared["id"])
    # Only the open-tracking image is fetched, so the open is known at message level only.
    image = requests.get(
        shared["openTrackingUrl"], headers={"User-Agent": GMAIL_IMAGE_PROXY}, timeout=30
    )
    assert image.status_code == 200

    page.goto(f"{live_server.url}/taskpane?graphId={message.graph_id}")
    _sign_in(page, alice)

    expect(page.locator("#message-subject")).to_have_text(MARKUP)
    expect(page.locator(f"#recipient-{recipient_id}-name")).to_have_text(MARKUP)
    expect(page.locator(f"#file-{file_id}-name")).to_have_text(f"{MARKUP}.pdf")
    expect(_state(page.locator("#message-level"), "Opened")).to_contain_text(
        "Not confirmed (image fetched by a mail proxy)"
    )
    expect(_state(page.locator(f"#recipient-{recipient_id}"), "Opened")).to_have_text("Not yet")

    page.goto(f"{live_server.url}/taskpane")
    expect(page.locator("#list-items .subject")).to_have_text([MARKUP])

    # The CSP alone would stop the inline handler, so the real check is that no <img> exists.
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_pane_expired_token_asks_to_sign_in(page, app, live_server, alice, alice_headers):
    shared = _upload_share(live_server, alice_headers, {"Report.pdf": PDF})
    message = _mirror_message(shared["id"], "Expiring", [("Bob Receiver", "bob@example.net")])
    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)
    expect(page.locator("#message-subject")).to_have_text("Expiring")

    # A token that the API rejects, although the pane's own clock still considers it valid.
    page.evaluate(
        """() => sessionStorage.setItem("mailgrip.taskpane.token",
             JSON.stringify({token: "not-a-valid-token", expiresAt: Date.now() + 3600000}))"""
    )
    page.get_by_role("button", name="Refresh").click()

    expect(page.locator("#signin-error")).to_have_text("Your sign-in has expired. Sign in again.")
    assert page.evaluate("sessionStorage.getItem('mailgrip.taskpane.token')") is None
    _sign_in(page, alice)
    expect(page.locator("#message-subject")).to_have_text("Expiring")


def test_pane_wrong_password(page, live_server, alice):
    page.goto(f"{live_server.url}/taskpane")
    page.get_by_label("Username").fill(alice.address)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#signin-error")).to_have_text("The username or password is incorrect.")
    expect(page.locator("#signin")).to_be_visible()


def test_pane_unknown_message_explains(page, live_server, alice):
    page.goto(f"{live_server.url}/taskpane?internetMessageId=%3Cunknown%40contoso.example%3E")
    _sign_in(page, alice)

    expect(page.locator("#notice")).to_contain_text("Mailgrip does not know this message.")


def test_pane_expired_open_share(page, app, live_server, alice, alice_headers):
    response = requests.post(
        f"{live_server.url}/api/shares",
        files=[("files", ("Report.pdf", PDF, "application/pdf"))],
        data={"verification": "none"},
        headers=alice_headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    shared = response.json()
    message = _mirror_message(shared["id"], "Old figures", [("Bob Receiver", "bob@example.net")])
    bob_id = message.recipients[0].id
    share = db.session.get(Share, shared["id"])
    share.expires_at = datetime(2024, 1, 3, 20, 27, tzinfo=UTC)
    db.session.commit()

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)

    expiry = page.locator("#share-expiry")
    expect(expiry).to_contain_text("The secure link expired on")
    expect(expiry).to_contain_text("2024")
    expect(expiry).not_to_contain_text("expires")
    expect(page.locator("#block-all-hint")).to_contain_text("The link has expired")
    expect(page.get_by_role("switch", name="Block everything")).to_be_enabled()
    expect(page.locator("#recipient-blocks-note")).to_have_text(
        "Anyone with the link can download, so blocks apply to files or to everything, "
        "not to single recipients."
    )
    expect(page.locator(f"#recipient-{bob_id}")).to_be_visible()
    expect(page.locator(f"#recipient-{bob_id}").get_by_role("switch")).to_have_count(0)
    expect(page.get_by_role("switch", name=re.compile("Block this file"))).to_have_count(1)


def test_pane_code_share_offers_recipient_blocks(page, app, live_server, alice, alice_headers):
    shared = _upload_share(live_server, alice_headers, {"Report.pdf": PDF})
    message = _mirror_message(shared["id"], "Figures", [("Bob Receiver", "bob@example.net")])
    bob_id = message.recipients[0].id

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    _sign_in(page, alice)

    expect(page.locator("#share-expiry")).to_contain_text("The secure link expires")
    expect(page.locator("#block-all-hint")).to_contain_text("Stops every download")
    expect(page.locator("#recipient-blocks-note")).to_be_hidden()
    expect(page.locator(f"#recipient-{bob_id}").get_by_role("switch")).to_have_count(1)
