"""Recording events: classification, truncated addresses, and the message they belong to."""

from __future__ import annotations

import pytest
from builders import make_message, make_share

from mailgrip.db import db
from mailgrip.tracking.classify import classify
from mailgrip.tracking.events import record_event, truncate_ip
from mailgrip.tracking.signals import RequestFacts

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


@pytest.mark.parametrize(
    ("kind", "method", "agent", "label"),
    [
        ("opened", "GET", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)", "proxy"),
        ("opened", "GET", "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy", "proxy"),
        ("opened", "GET", BROWSER, "person"),
        ("opened", "GET", "", "unknown"),
        ("link_opened", "GET", BROWSER, "person"),
        ("link_opened", "GET", "Mozilla/5.0 (compatible; bingbot/2.0)", "scanner"),
        ("link_opened", "GET", "python-requests/2.32.3", "scanner"),
        ("link_opened", "GET", "curl/8.5.0", "scanner"),
        ("link_opened", "GET", "Mozilla/5.0 HeadlessChrome/120.0", "scanner"),
        ("link_opened", "GET", None, "unknown"),
        ("downloaded", "POST", "python-requests/2.32.3", "scanner"),
        ("downloaded", "POST", BROWSER, "person"),
        ("link_opened", "HEAD", BROWSER, "scanner"),
        ("downloaded", None, None, "unknown"),
    ],
)
def test_classify_table(kind, method, agent, label):
    result = classify(RequestFacts(kind=kind, method=method, user_agent=agent))

    assert result.label == label
    assert result.reasons


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Linux; Android 11; CUBOT X50) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/96.0.4664.45 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 9; CUBOT_X19 Build/PPR1.180610.011) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/74.0.3729.136 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    ],
    ids=["cubot", "cubot-underscore", "edge", "firefox", "safari-ios", "samsung"],
)
def test_browser_is_not_scanner(agent):
    result = classify(RequestFacts(kind="link_opened", method="GET", user_agent=agent))

    # Chrome 74 on the CUBOT_X19 is years out of date, which leaves the label undecided.
    assert result.label != "scanner", result.reasons


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
        "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        "AdsBot-Google (+http://www.google.com/adsbot.html)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Slackbot 1.0 (+https://api.slack.com/robots)",
        "TelegramBot (like TwitterBot)",
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "Python-urllib/3.11",
        "Go-http-client/2.0",
        "okhttp/4.12.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
    ],
    ids=[
        "googlebot", "bingbot", "adsbot", "slackbot-expanding", "slackbot", "telegrambot",
        "duckduckbot", "baiduspider", "curl", "wget", "python-requests", "python-urllib",
        "go", "okhttp", "headlesschrome",
    ],
)
def test_bot_is_scanner(agent):
    result = classify(RequestFacts(kind="link_opened", method="GET", user_agent=agent))

    assert result.label == "scanner"
    assert result.reasons


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


def test_record_event_uses_linked_message(app, sender):
    built = make_share(sender)
    make_message(sender, ["dave@tailspin.example"])

    event = record_event("opened", built.share)

    assert event.message_id == built.message.id


def test_record_event_uses_recipient_message(app, sender):
    built = make_share(sender)
    other = make_message(sender, ["dave@tailspin.example"])

    event = record_event("verified", built.share, recipient=other.recipients[0])

    assert event.message_id == other.id
    assert event.recipient_id == other.recipients[0].id


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


def test_record_event_removes_control_characters(app, sender):
    built = make_share(sender)

    agent = "Mozilla/5.0\0\t(X11;\x1f Linux)\x7f"
    request = app.test_request_context(headers={"User-Agent": agent})
    with request:
        event = record_event("link_opened", built.share)
    db.session.commit()

    assert event.user_agent == "Mozilla/5.0(X11; Linux)"
