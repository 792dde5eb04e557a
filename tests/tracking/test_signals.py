"""Each signal of the classifier on its own, and how ``classify`` weighs them together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import make_mailbox, make_message

from mailgrip.tracking import signals
from mailgrip.tracking.agents import read_user_agent
from mailgrip.tracking.classify import classify
from mailgrip.tracking.delivery import delivery_time
from mailgrip.tracking.proxies import provider_network, proxy_agent
from mailgrip.tracking.signals import AUTOMATED, PERSON, PROXY, RequestFacts

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
APPLE_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
HOUR = 3600.0


def facts(**values) -> RequestFacts:
    values.setdefault("kind", "link_opened")
    values.setdefault("method", "GET")
    values.setdefault("user_agent", CHROME)
    values.setdefault("ip_prefix", "198.51.100.0/24")
    values.setdefault("seconds_since_delivery", 2 * HOUR)
    return RequestFacts(**values)


def pointing(found: list[signals.Signal]) -> list[tuple[str, int]]:
    return [(signal.points_to, signal.weight) for signal in found]


# ---- user agent ----

@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (CHROME, [(PERSON, 1)]),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
         [(AUTOMATED, 5)]),
        ("Mozilla/5.0 (compatible; Barracuda Sentinel)", [(AUTOMATED, 5)]),
        ("Mozilla/5.0", [(AUTOMATED, 2)]),
        (None, [(AUTOMATED, 2)]),
        ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:54.0) Gecko/20100101 Firefox/54.0",
         [(PERSON, 1), (AUTOMATED, 1)]),
        ("Mozilla/4.0 (compatible; ms-office; MSOffice 16)", [(AUTOMATED, 3)]),
        ("SomeUnknownClient/1.0", []),
        (GMAIL, []),
    ],
    ids=["chrome", "crawler-list", "gateway-name", "bare", "missing", "outdated", "office-probe",
         "unrecognised", "proxy-left-to-proxy-signal"],
)
def test_user_agent_signal_table(agent, expected):
    assert pointing(signals.user_agent_signals(facts(user_agent=agent))) == expected


def test_office_user_agent_is_mail_client_for_images():
    found = signals.user_agent_signals(
        facts(kind="opened", user_agent="Mozilla/4.0 (compatible; ms-office; MSOffice 16)")
    )

    assert pointing(found) == [(PERSON, 1)]


def test_crawler_list_comes_from_package():
    agent = read_user_agent("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")

    assert agent.crawler == "Slackbot"


def test_apple_mail_told_from_safari():
    assert read_user_agent(APPLE_MAIL).apple_mail is True
    safari = APPLE_MAIL + " Version/18.1 Safari/605.1.15"
    assert read_user_agent(safari).apple_mail is False


# ---- method ----

@pytest.mark.parametrize(
    ("kind", "method", "expected"),
    [
        ("link_opened", "HEAD", [(AUTOMATED, 3)]),
        ("link_opened", "GET", []),
        ("downloaded", "POST", [(PERSON, 3)]),
        ("link_opened", "POST", []),
    ],
)
def test_method_signal_table(kind, method, expected):
    assert pointing(signals.method_signals(facts(kind=kind, method=method))) == expected


# ---- time since delivery ----

@pytest.mark.parametrize(
    ("kind", "seconds", "expected"),
    [
        ("link_opened", 3.0, [(AUTOMATED, 2)]),
        ("link_opened", -20.0, [(AUTOMATED, 2)]),
        ("opened", 3.0, [(AUTOMATED, 1)]),
        ("link_opened", 60.0, []),
        ("link_opened", None, []),
    ],
    ids=["fast-link", "before-delivery", "fast-image", "after-a-minute", "unknown-delivery"],
)
def test_timing_signal_table(kind, seconds, expected):
    found = signals.timing_signals(facts(kind=kind, seconds_since_delivery=seconds))

    assert pointing(found) == expected


# ---- several fetches at once ----

@pytest.mark.parametrize(
    ("method", "recent", "expected"),
    [("GET", 0, []), ("GET", 1, [(AUTOMATED, 1)]), ("GET", 3, [(AUTOMATED, 2)]),
     ("POST", 3, [])],
)
def test_burst_signal_table(method, recent, expected):
    found = signals.burst_signals(facts(method=method, recent_requests=recent))

    assert pointing(found) == expected


# ---- the portal page's script ----

@pytest.mark.parametrize(
    ("ran", "expected"), [(True, [(PERSON, 2)]), (False, [(AUTOMATED, 1)]), (None, [])]
)
def test_script_signal_table(ran, expected):
    assert pointing(signals.script_signals(facts(script_ran=ran))) == expected


# ---- networks and proxies ----

def test_gateway_network_signal():
    found = signals.network_signals(facts(ip_prefix="52.101.4.0/24"))

    assert pointing(found) == [(AUTOMATED, 2)]
    assert "Microsoft" in found[0].reason


def test_provider_network_needs_whole_prefix_inside():
    assert provider_network("17.58.63.0/24").owner == "Apple Mail Privacy Protection"
    assert provider_network("2a01:111:f400::/48") is not None
    assert provider_network("198.51.100.0/24") is None
    assert provider_network("not a prefix") is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"kind": "opened", "user_agent": GMAIL}, [(PROXY, 5)]),
        ({"kind": "link_opened", "user_agent": GMAIL}, [(PROXY, 5)]),
        ({"kind": "opened", "user_agent": "Mozilla/5.0", "ip_prefix": "17.58.63.0/24"},
         [(PROXY, 5)]),
        ({"kind": "opened", "user_agent": APPLE_MAIL, "seconds_since_delivery": 30.0},
         [(PROXY, 5)]),
        ({"kind": "opened", "user_agent": APPLE_MAIL}, []),
        ({"kind": "link_opened", "user_agent": CHROME, "ip_prefix": "17.58.63.0/24"}, []),
    ],
    ids=["gmail", "gmail-on-link", "apple-network", "apple-mail-prefetch", "apple-mail-later",
         "apple-network-link"],
)
def test_proxy_signal_table(values, expected):
    assert pointing(signals.proxy_signals(facts(**values))) == expected


def test_proxy_agent_names_provider():
    assert proxy_agent(GMAIL) == "the Gmail image proxy"
    assert proxy_agent(CHROME) is None


# ---- weighing them together ----

@pytest.mark.parametrize(
    ("values", "label"),
    [
        ({}, "person"),
        ({"seconds_since_delivery": 5.0}, "unknown"),
        ({"seconds_since_delivery": 5.0, "recent_requests": 2}, "scanner"),
        ({"seconds_since_delivery": 5.0, "script_ran": True}, "person"),
        ({"script_ran": False}, "unknown"),
        ({"user_agent": None}, "unknown"),
        ({"user_agent": None, "seconds_since_delivery": 5.0}, "scanner"),
        ({"kind": "downloaded", "method": "POST",
          "user_agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0 Safari/537.36"},
         "scanner"),
        ({"kind": "downloaded", "method": "POST", "seconds_since_delivery": 4.0,
          "ip_prefix": "40.92.18.0/24"}, "unknown"),
        ({"kind": "opened", "user_agent": GMAIL, "seconds_since_delivery": 4.0}, "proxy"),
        ({"method": None}, "unknown"),
        ({"sender": True}, "sender"),
    ],
    ids=["browser-later", "fast-alone", "fast-and-burst", "fast-but-script-ran",
         "script-never-ran", "no-agent-alone", "no-agent-and-fast", "headless-download",
         "sandbox-download", "gmail-at-delivery", "outside-request", "sender-marker"],
)
def test_classify_weighs_signals(values, label):
    result = classify(facts(**values))

    assert result.label == label, result.reasons
    assert result.reasons


def test_no_single_weak_hint_makes_scanner():
    weak = [{"seconds_since_delivery": 5.0}, {"script_ran": False}, {"recent_requests": 3},
            {"user_agent": "Mozilla/5.0 (Windows NT 6.1) Chrome/70.0.1 Safari/537.36"}]

    for values in weak:
        assert classify(facts(**values)).label != "scanner", values


# ---- delivery time ----

def test_delivery_time_prefers_recipient(app):
    mailbox = make_mailbox()
    message = make_message(mailbox, ["bob@fabrikam.example", "carol@fabrikam.example"])
    bob, carol = message.recipients
    sent = message.sent_at
    bob.delivery_at = sent + timedelta(seconds=30)

    assert delivery_time(message, bob) == bob.delivery_at
    assert delivery_time(message, carol) == sent
    assert delivery_time(message) == bob.delivery_at
    assert delivery_time(None) is None


def test_delivery_time_falls_back_to_sending(app):
    message = make_message(make_mailbox())
    message.sent_at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    assert delivery_time(message) == message.sent_at
