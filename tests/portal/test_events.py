"""Recording events: classification, truncated addresses, and the message they belong to."""

from __future__ import annotations

import pytest
from builders import make_message, make_share
from mailgrip.tracking.classify import classify
from mailgrip.tracking.events import record_event, truncate_ip

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


@pytest.mark.parametrize(
    ("kind", "method", "agent", "label"),
    [
        ("opened", "GET", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)", "proxy"),
        ("opened", "GET", "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy", "proxy"),
        ("opened", "GET", BROWSER, "unknown"),
        ("opened", "GET", "", "unknown"),
        ("link_opened", "GET", BROWSER, "person"),
        ("link_opened", "GET", "Mozilla/5.0 (compatible; bingbot/2.0)", "scanner"),
        ("link_opened", "GET", "python-requests/2.32.3", "scanner"),
        ("link_opened", "GET", "curl/8.5.0", "scanner"),
        ("link_opened", "GET", "Mozilla/5.0 HeadlessChrome/120.0", "scanner"),
        ("link_opened", "GET", None, "unknown"),
        ("downloaded", "POST", "python-requests/2.32.3", "person"),
        ("downloaded", None, None, "unknown"),
    ],
)
def test_classify_table(kind, method, agent, label):
    result, reasons = classify(kind, method, agent)

    assert result == label
    assert reasons


@pytest.mark.parametrize(
    ("address", "prefix"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("not an address", None),
        (None, None),
    ],
)
def test_truncate_ip_table(address, prefix):
    assert truncate_ip(address) == prefix


def test_record_event_outside_request(app, sender):
    built = make_share(sender)

    event = record_event("code_sent", built.share, detail={"note": "test"})

    assert event.classification == "unknown"
    assert event.ip_prefix is None
    assert event.user_agent is None
    assert event.message_id == built.message.id
    assert event.detail == {"note": "test"}


def test_record_event_uses_first_linked_message(app, sender):
    built = make_share(sender)
    make_message(sender, ["dave@tailspin.example"], share=built.share)

    event = record_event("opened", built.share)

    assert event.message_id == built.message.id


def test_record_event_uses_recipient_message(app, sender):
    built = make_share(sender)
    later = make_message(sender, ["dave@tailspin.example"], share=built.share)

    event = record_event("verified", built.share, recipient=later.recipients[0])

    assert event.message_id == later.id
    assert event.recipient_id == later.recipients[0].id


def test_record_event_without_message(app, sender):
    built = make_share(sender, recipients=None)

    event = record_event("opened", built.share)

    assert event.message_id is None


def test_record_event_rejects_unknown_kind(app, sender):
    built = make_share(sender)

    with pytest.raises(ValueError, match="unknown event kind"):
        record_event("clicked", built.share)


def test_record_event_caps_user_agent(app, sender):
    built = make_share(sender)

    request = app.test_request_context(
        headers={"User-Agent": "A" * 2000}, environ_base={"REMOTE_ADDR": "2001:db8::7"}
    )
    with request:
        event = record_event("link_opened", built.share)

    assert len(event.user_agent) == 512
    assert event.ip_prefix == "2001:db8::/48"
