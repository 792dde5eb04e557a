"""The portal page at /s/<token>: what it shows, what it records, and its headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from builders import expired, make_share
from portal_helpers import events
from recipient import BROWSER_USER_AGENT as BROWSER

from mailgrip.access.models import Block
from mailgrip.db import db

PORTAL_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def test_page_lists_files_and_sender(client, sender):
    built = make_share(sender, {"report.pdf": b"x" * 2048, "notes.txt": b"hello"})

    page = client.get(built.path)
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "report.pdf" in html
    assert "notes.txt" in html
    assert "2 kB" in html
    assert sender.address in html
    assert "Send me a code" in html
    assert "/files/" not in html


def test_page_offers_downloads_without_verification(client, sender):
    built = make_share(sender, verification="none")

    html = client.get(built.path).get_data(as_text=True)

    assert f'action="/s/{built.link_token}/files/{built.files[0].id}"' in html
    assert "Send me a code" not in html


def test_page_escapes_file_names(client, sender):
    built = make_share(sender, {"<img src=x onerror=alert(1)>.txt": b"x"})

    html = client.get(built.path).get_data(as_text=True)

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in html


def test_get_records_link_opened_once(client, sender):
    built = make_share(sender)

    client.get(built.path)

    recorded = events()
    assert [event.kind for event in recorded] == ["link_opened"]
    assert recorded[0].share_id == built.share.id
    assert recorded[0].message_id == built.message.id
    assert recorded[0].recipient_id is None
    assert recorded[0].ip_prefix == "127.0.0.0/24"


def test_link_opened_names_verified_recipient(client, sender):
    built = make_share(sender)
    bob = built.recipient("bob@fabrikam.example")
    with client.session_transaction() as session:
        session["verified"] = {built.share.id: bob.id}

    client.get(built.path)

    (opened,) = events("link_opened")
    assert opened.recipient_id == bob.id


def test_head_recorded_as_scanner(live_server, app, sender):
    built = make_share(sender)

    head = requests.head(built.link, headers={"User-Agent": BROWSER}, timeout=30)
    get = requests.get(built.link, timeout=30)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    probe, _ = events("link_opened")
    assert probe.classification == "scanner"
    assert probe.request_facts["method"] == "HEAD"


@pytest.mark.parametrize(
    "token",
    # A token with a control character gets 400 before routing (tests/security).
    ["unknown-token-" + "x" * 30, "%ff%fe", "a" * 2000, "..", "'\"<>", "%E2%80%AE"],
    ids=["unknown", "bytes", "long", "dots", "quotes", "bidi"],
)
def test_unknown_token_gets_404_page(client, sender, token):
    make_share(sender)

    page = client.get(f"/s/{token}")

    assert page.status_code == 404
    assert "This link is not valid" in page.get_data(as_text=True)
    assert events() == []


@pytest.mark.parametrize("path", ["/s/{token}", "/s/unknown-token"])
def test_portal_headers(client, sender, path):
    built = make_share(sender)

    response = client.get(path.format(token=built.link_token))

    for name, value in PORTAL_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_blocked_share_shows_notice(client, sender):
    built = make_share(sender, verification="none")
    db.session.add(Block(share_id=built.share.id, scope="all", created_by=sender.address))
    db.session.commit()

    html = client.get(built.path).get_data(as_text=True)

    assert "The sender has blocked access to these files." in html
    assert "/files/" not in html
    assert "Send me a code" not in html


def test_blocked_file_is_marked(client, sender):
    built = make_share(sender, {"a.txt": b"a", "b.txt": b"b"}, verification="none")
    blocked, open_file = built.files
    db.session.add(
        Block(share_id=built.share.id, scope="file", file_id=blocked.id, created_by=sender.address)
    )
    db.session.commit()

    html = client.get(built.path).get_data(as_text=True)

    assert f"/files/{blocked.id}" not in html
    assert f"/files/{open_file.id}" in html
    assert "Blocked by the sender" in html


def test_expired_share_shows_notice(client, sender):
    built = make_share(sender, expires_at=expired())

    page = client.get(built.path)
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "This link has expired" in html
    assert "Send me a code" not in html
    assert [event.kind for event in events()] == ["link_opened"]


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 bytes"), (1, "1 byte"), (588, "588 bytes"), (2048, "2 kB"), (1_234_567, "1.2 MB")],
)
def test_file_size_in_lower_case_units(client, sender, size, shown):
    built = make_share(sender, {"data.bin": b"x" * size})

    html = client.get(built.path).get_data(as_text=True)

    assert f'<span class="size">{shown}</span>' in html


def test_user_agent_control_characters_removed(client, sender):
    built = make_share(sender)

    page = client.get(built.path, headers={"User-Agent": "Mozilla/5.0\0 (X11;\x1b Linux)\x7f"})

    assert page.status_code == 200
    (opened,) = events("link_opened")
    assert opened.user_agent == "Mozilla/5.0 (X11; Linux)"


def _block(built, scope: str, **target) -> None:
    db.session.add(Block(share_id=built.share.id, scope=scope, created_by="alice", **target))
    db.session.commit()


def _verify_as_bob(client, built) -> None:
    with client.session_transaction() as session:
        session["verified"] = {built.share.id: built.recipient("bob@fabrikam.example").id}


def test_recipient_block_shown_beside_file_block(client, sender):
    built = make_share(sender, {"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"})
    blocked_file = built.files[0]
    _block(built, "recipient", recipient_id=built.recipient("bob@fabrikam.example").id)
    _block(built, "file", file_id=blocked_file.id)
    _verify_as_bob(client, built)

    html = client.get(built.path).get_data(as_text=True)

    assert html.count("The sender has blocked your access to these files.") == 1
    assert html.count("Blocked by the sender") == 1
    assert "/files/" not in html
    assert "Send me a code" not in html


def test_block_of_all_shown_beside_file_block(client, sender):
    built = make_share(sender, {"a.txt": b"a", "b.txt": b"b"}, verification="none")
    _block(built, "file", file_id=built.files[0].id)
    _block(built, "all")

    html = client.get(built.path).get_data(as_text=True)

    assert html.count("The sender has blocked access to these files.") == 1
    assert "/files/" not in html


def test_expired_share_shown_beside_file_block(client, sender):
    built = make_share(sender, {"a.txt": b"a", "b.txt": b"b"}, expires_at=expired())
    _block(built, "file", file_id=built.files[0].id)

    html = client.get(built.path).get_data(as_text=True)

    assert html.count("This link has expired") == 1
    assert html.count("Blocked by the sender") == 1
    assert "Send me a code" not in html


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "Available until Jan 3, 2099, 8:27\u202fPM UTC"),
        ("nl", "3 jan 2099, 20:27 UTC"),
    ],
)
def test_expiry_shown_in_utc(client, sender, language, shown):
    # 20:27 UTC is already 4 January in Tokyo, so a date alone could contradict the task pane.
    built = make_share(sender, expires_at=datetime(2099, 1, 3, 20, 27, tzinfo=UTC))

    html = client.get(built.path, headers={"Accept-Language": language}).get_data(as_text=True)

    assert shown in html
