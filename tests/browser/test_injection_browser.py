"""Script-injection payloads in the task pane and the portal, in headless Chromium.

Each payload would set ``window.__pwned`` or open a dialog if it ran. Besides that, no element
that a payload brings (img, svg, script, a javascript: link) may exist in the page, which
fails even where the Content-Security-Policy alone would have stopped the script. Each text is
compared whole, so a template expression such as ``{{7*7}}`` must show as typed.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
from builders import make_mailbox, make_share
from playwright.sync_api import Page, expect

from mailgrip.db import db
from mailgrip.mirror.addresses import address_key
from mailgrip.mirror.models import Message, Recipient
from mailgrip.shares.models import File, Share

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=1;alert(1)">',
    "javascript:window.__pwned=1",
    "</title><svg onload=window.__pwned=1>",
    "{{7*7}} ${7*7} {% raw %}#{7*7}",
]
PDF = b"%PDF-1.4\n% Mailgrip injection test\n%%EOF\n"


def _file_name(payload: str) -> str:
    # A slash would make the name a path, of which only the last part is kept.
    return payload.replace("/", "") + ".pdf"


def _watch_dialogs(page: Page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return dialogs


def _assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    # querySelectorAll stays out of shadow roots, where Fluent components keep their own icons
    # (the checkbox's check mark is an <svg>). The payloads can only reach the page's own DOM.
    assert page.evaluate("document.querySelectorAll('img, svg').length") == 0
    # The only script elements are the page's own: files from Mailgrip's origin and the task
    # pane's JSON configuration, which never runs.
    assert page.locator('script:not([src]):not([type="application/json"])').count() == 0
    origin = page.evaluate("location.origin")
    sources = page.eval_on_selector_all("script[src]", "scripts => scripts.map(s => s.src)")
    assert [src for src in sources if not src.startswith(origin + "/")] == []
    assert page.locator('a[href^="javascript:"]').count() == 0


def _upload_share(live_server, headers: dict[str, str], name: str) -> dict:
    files = [("files", (name, PDF, "application/pdf"))]
    response = requests.post(f"{live_server.url}/api/shares", files=files, headers=headers,
                             timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def _mirror_message(share_id: str, payload: str) -> Message:
    """Add the mirror of the sent message with the payload in every text the pane shows."""
    share = db.session.get(Share, share_id)
    message = Message(
        mailbox_id=share.owner_mailbox_id,
        graph_id=f"AAMk{secrets.token_hex(8)}=",
        internet_message_id=f"<{secrets.token_hex(6)}@contoso.example>",
        subject=payload,
        sender_address=f"{payload}@contoso.example",
        sent_at=datetime.now(UTC),
        share_id=share.id,
    )
    address = f"{payload}@evil.example"
    message.recipients.append(Recipient(
        address=address, address_key=address_key(address), display_name=payload, kind="to"
    ))
    db.session.add(message)
    db.session.commit()
    return message


@pytest.mark.parametrize("payload", PAYLOADS)
def test_pane_renders_payload_as_text(page, app, live_server, alice, alice_headers, payload):
    dialogs = _watch_dialogs(page)
    shared = _upload_share(live_server, alice_headers, _file_name(payload))
    message = _mirror_message(shared["id"], payload)
    recipient = message.recipients[0]
    file = db.session.scalar(sa.select(File).where(File.share_id == shared["id"]))

    page.goto(f"{live_server.url}/taskpane?messageId={message.id}")
    page.get_by_label("Username").fill(alice.address)
    page.get_by_label("Password").fill(alice.password)
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#message-subject")).to_have_text(payload)
    expect(page.locator("#message-meta")).to_contain_text(f"{payload}@contoso.example")
    expect(page.locator(f"#recipient-{recipient.id}-name")).to_have_text(payload)
    expect(page.locator(f"#recipient-{recipient.id} .address")).to_have_text(recipient.address)
    expect(page.locator(f"#file-{file.id}-name")).to_have_text(_file_name(payload))
    # The page's own scripts: the JSON configuration and taskpane.js.
    _assert_nothing_ran(page, dialogs)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_portal_renders_payload_as_text(page, app, live_server, emulator, payload):
    dialogs = _watch_dialogs(page)
    owner = make_mailbox("alice@contoso.example", display_name=payload)
    built = make_share(owner, {_file_name(payload): PDF})

    page.goto(f"{live_server.url}{built.path}")

    expect(page.locator("h1")).to_have_text(f"Files from {payload}")
    assert page.title() == f"Files from {payload} · Mailgrip"
    expect(page.locator(".files .name")).to_have_text(_file_name(payload))
    _assert_nothing_ran(page, dialogs)

    # The code form shows the typed address back. Its email field would not submit a
    # payload, so the field is made a text field, as a hand-made request would do.
    page.goto(f"{live_server.url}{built.path}/verify")
    page.evaluate("document.getElementById('address').type = 'text'")
    page.fill("#address", f"{payload}@evil.example")
    page.fill("#code", "123456")
    page.get_by_role("button", name="Confirm").click()

    expect(page.locator(".error")).to_be_visible()
    expect(page.locator("#address")).to_have_value(f"{payload}@evil.example")
    _assert_nothing_ran(page, dialogs)
