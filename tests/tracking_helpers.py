"""Helpers for tracking tests over real HTTP: shares sent a while ago, the portal's beacon."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from builders import BuiltShare, make_share
from recipient import CSRF_FIELD

from mailgrip.db import db

VISIT_FIELD = re.compile(r'name="visit" value="([^"]+)"')
THUNDERBIRD = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"
)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36"
)


def share_sent_earlier(sender, hours: float = 2, **options) -> BuiltShare:
    """Make a share whose message was sent ``hours`` ago, so that timing points nowhere."""
    built = make_share(sender, **options)
    built.message.sent_at = datetime.now(UTC) - timedelta(hours=hours)
    db.session.commit()
    return built


def post_beacon(reader, page_text: str):
    """Post the portal page's visit form, as its script does once the page has loaded."""
    visit = VISIT_FIELD.search(page_text)
    token = CSRF_FIELD.search(page_text)
    assert visit and token, "no visit form on the portal page"
    return reader.session.post(
        f"{reader.link}/seen",
        data={"visit": unescape(visit.group(1)), "csrf_token": unescape(token.group(1))},
        timeout=30,
    )
