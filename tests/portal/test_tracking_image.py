"""The open-tracking image at /o/<token>.gif: always the same pixel, an event only when known."""

from __future__ import annotations

import pytest
import requests
from builders import expired, make_share
from portal_helpers import events

from mailgrip.access.models import Block
from mailgrip.db import db
from mailgrip.web.opens import TRANSPARENT_GIF

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


def _assert_pixel(response) -> None:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/gif"
    assert response.headers["Cache-Control"] == "no-store, private"
    assert response.headers["Content-Length"] == "43"


def test_pixel_is_43_byte_transparent_gif():
    assert len(TRANSPARENT_GIF) == 43
    assert TRANSPARENT_GIF.startswith(b"GIF89a\x01\x00\x01\x00")
    assert TRANSPARENT_GIF.endswith(b";")


def test_known_token_records_opened(client, sender):
    built = make_share(sender)

    response = client.get(built.image_path, headers={"User-Agent": BROWSER})

    _assert_pixel(response)
    assert response.data == TRANSPARENT_GIF
    (opened,) = events()
    assert opened.kind == "opened"
    assert opened.message_id == built.message.id
    assert opened.recipient_id is None
    assert opened.classification == "unknown"


def test_image_proxy_is_classified(client, sender):
    built = make_share(sender)

    client.get(built.image_path, headers={"User-Agent": GMAIL_PROXY})

    (opened,) = events()
    assert opened.classification == "proxy"
    assert opened.user_agent == GMAIL_PROXY


def test_head_recorded_as_scanner(live_server, app, sender):
    built = make_share(sender)

    response = requests.head(built.open_tracking_url, headers={"User-Agent": BROWSER}, timeout=30)

    _assert_pixel(response)
    (probe,) = events("opened")
    assert probe.classification == "scanner"


@pytest.mark.parametrize(
    "path",
    [
        "/o/unknown-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.gif",
        "/o/%00%ff.gif",
        "/o/" + "z" * 3000 + ".gif",
        "/o/no-suffix",
        "/o/a/b/c.gif",
        "/o/",
    ],
    ids=["unknown", "bytes", "long", "no-suffix", "nested", "empty"],
)
def test_unknown_token_gets_pixel(client, sender, path):
    make_share(sender)

    response = client.get(path)

    _assert_pixel(response)
    assert response.data == TRANSPARENT_GIF
    assert events() == []


def test_expired_share_gets_pixel_and_event(client, sender):
    built = make_share(sender, expires_at=expired())

    response = client.get(built.image_path)

    _assert_pixel(response)
    assert [event.kind for event in events()] == ["opened"]


def test_blocked_share_gets_pixel_and_event(client, sender):
    built = make_share(sender)
    db.session.add(Block(share_id=built.share.id, scope="all", created_by=sender.address))
    db.session.commit()

    response = client.get(built.image_path)

    _assert_pixel(response)
    assert [event.kind for event in events()] == ["opened"]


def test_nul_user_agent_records_opened(client, sender):
    built = make_share(sender)

    response = client.get(built.image_path, headers={"User-Agent": "Mozilla/5.0\0 Outlook"})

    _assert_pixel(response)
    (opened,) = events()
    assert opened.user_agent == "Mozilla/5.0 Outlook"
