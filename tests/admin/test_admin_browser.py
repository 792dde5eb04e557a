"""The admin page in Chromium: script-injection payloads in mail data render as text only.

Each payload would set ``window.__xss`` and log ``xss-fired`` if the browser ran it. The pages
are checked for the flag, the console, dialogs, and elements that the payloads would create.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from builders import make_mailbox, make_share
from playwright.sync_api import expect

from mailgrip.access.models import Block
from mailgrip.db import db
from mailgrip.tracking.models import Event

pytestmark = pytest.mark.browser

PAYLOADS = [
    '<script>window.__xss = 1; console.log("xss-fired")</script>',
    '"><img src=x onerror="window.__xss = 2; console.log(\'xss-fired\')">',
    "javascript:window.__xss = 3; console.log('xss-fired')",
    "</title><svg onload=\"window.__xss = 4; console.log('xss-fired')\">",
    '\'><iframe srcdoc="<script>parent.__xss = 5</script>"></iframe>',
]


@pytest.fixture
def poisoned(app):
    """A mailbox, message, recipients, files, events and a block full of payloads."""
    mailbox = make_mailbox("owner@contoso.example", display_name=PAYLOADS[0])
    mailbox.last_sync_error = PAYLOADS[1]
    db.session.commit()

    files = {f"{payload}.pdf": b"%PDF-1.7\n%%EOF\n" for payload in PAYLOADS}
    recipients = [(f"{payload}@evil.example", "to") for payload in PAYLOADS[:3]]
    built = make_share(mailbox, files, recipients=recipients)
    message = built.message
    message.subject = " ".join(PAYLOADS)
    message.sender_address = PAYLOADS[2]

    for recipient, payload in zip(message.recipients, PAYLOADS[2:], strict=False):
        recipient.display_name = payload
    # The stored names keep the payloads even if upload handling would clean them.
    for file, payload in zip(built.files, PAYLOADS, strict=True):
        file.display_name = payload

    db.session.add(
        Event(
            kind="downloaded",
            share_id=built.share.id,
            message_id=message.id,
            recipient_id=message.recipients[0].id,
            file_id=built.files[3].id,
            classification="person",
            user_agent=PAYLOADS[4],
            occurred_at=datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
        )
    )
    db.session.add(
        Block(
            share_id=built.share.id,
            scope="recipient",
            recipient_id=message.recipients[1].id,
            created_by=PAYLOADS[3],
        )
    )
    db.session.commit()
    return message


def _watch(page) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"console": [], "dialogs": []}
    page.on("console", lambda message: seen["console"].append(message.text))
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    return seen


def _sign_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/signin")
    page.get_by_label("Username").fill(user.address)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Mailboxes")).to_be_visible()


def _assert_no_script_ran(page, seen: dict[str, list[str]]) -> None:
    assert page.evaluate("() => window.__xss") is None
    assert not any("xss-fired" in text for text in seen["console"])
    assert seen["dialogs"] == []
    assert page.locator("main script, main svg, main iframe").count() == 0
    assert page.locator("img[src='x']").count() == 0


def test_payloads_render_as_text(page, live_server, admin_user, poisoned):
    seen = _watch(page)
    _sign_in(page, live_server, admin_user)

    expect(page.locator("tr.mailbox").first).to_contain_text(PAYLOADS[0])
    expect(page.locator("tr.mailbox").first).to_contain_text(PAYLOADS[1])
    _assert_no_script_ran(page, seen)

    page.goto(f"{live_server.url}/admin/messages/{poisoned.id}")
    expect(page.locator("h1")).to_have_text(" ".join(PAYLOADS))
    expect(page.locator("tr.file")).to_have_count(len(PAYLOADS))
    for payload in PAYLOADS:
        expect(page.locator("tr.file", has_text=payload)).to_have_count(1)
    expect(page.locator("tr.event")).to_contain_text(PAYLOADS[4])
    expect(page.locator("tr.block")).to_contain_text(PAYLOADS[3])
    assert page.title().startswith(PAYLOADS[0])
    _assert_no_script_ran(page, seen)


def test_search_results_escape_payloads(page, live_server, admin_user, poisoned):
    seen = _watch(page)
    _sign_in(page, live_server, admin_user)

    page.get_by_label("Find a message").fill("window.__xss")
    page.get_by_role("button", name="Search").click()

    expect(page.locator("tr.message")).to_have_count(1)
    expect(page.locator("tr.message a")).to_have_text(" ".join(PAYLOADS))
    expect(page.locator("tr.message")).to_contain_text(f"{PAYLOADS[0]}@evil.example")
    _assert_no_script_ran(page, seen)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_reflected_query_escaped(page, live_server, admin_user, payload):
    seen = _watch(page)
    _sign_in(page, live_server, admin_user)

    page.get_by_label("Find a message").fill(payload)
    page.get_by_role("button", name="Search").click()

    expect(page.locator("main p").last).to_contain_text(payload)
    expect(page.get_by_label("Find a message")).to_have_value(payload)
    _assert_no_script_ran(page, seen)
