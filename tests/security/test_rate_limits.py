"""Rate limits on the portal and the tracking image, per client IP and per email address."""

from __future__ import annotations

import re
import secrets
from html import unescape

import pytest
import requests
from builders import make_share
from portal_helpers import CSRF_FIELD, events

from mailgrip.tracking.models import Event
from mailgrip.web.opens import TRANSPARENT_GIF

BOB = "bob@fabrikam.example"
CAROL = "carol@fabrikam.example"


def _client(app, ip: str = "198.51.100.7"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _csrf(client, path: str) -> str:
    match = CSRF_FIELD.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _post_code_request(client, built, address: str):
    token = _csrf(client, built.path)
    return client.post(f"{built.path}/code", data={"address": address, "csrf_token": token})


def _post_code(client, built, address: str, code: str = "000000"):
    token = _csrf(client, built.path)
    return client.post(
        f"{built.path}/verify", data={"address": address, "code": code, "csrf_token": token}
    )


def _assert_too_many(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "Too many requests" in response.get_data(as_text=True)


def test_code_requests_limited_per_ip(make_app, app, sender):
    limited = make_app(RATE_LIMIT_CODE_REQUESTS="2 per minute")
    built = make_share(sender, recipients=[BOB, CAROL, "dave@fabrikam.example"])
    client = _client(limited)

    first = _post_code_request(client, built, BOB)
    second = _post_code_request(client, built, CAROL)
    third = _post_code_request(client, built, "dave@fabrikam.example")
    other_ip = _post_code_request(_client(limited, "198.51.100.8"), built, "dave@fabrikam.example")

    assert first.status_code == 303
    assert second.status_code == 303
    _assert_too_many(third)
    assert other_ip.status_code == 303
    assert len(events("code_sent")) == 3


def test_code_requests_limited_per_address(make_app, app, sender):
    limited = make_app(RATE_LIMIT_CODE_REQUESTS_PER_ADDRESS="2 per hour")
    built = make_share(sender, recipients=[BOB])

    responses = [
        _post_code_request(_client(limited, f"198.51.100.{n}"), built, address)
        for n, address in enumerate([BOB, BOB.upper(), BOB, BOB], start=1)
    ]

    assert [r.status_code for r in responses[:2]] == [303, 303]
    _assert_too_many(responses[2])
    _assert_too_many(responses[3])
    assert len(events("code_sent")) == 2


def test_address_limit_records_one_lockout(make_app, app, sender):
    limited = make_app(RATE_LIMIT_CODE_REQUESTS_PER_ADDRESS="1 per hour")
    built = make_share(sender, recipients=[BOB])
    bob = built.recipient(BOB)

    for n in range(4):
        _post_code_request(_client(limited, f"198.51.100.{n + 1}"), built, BOB)

    (locked,) = events("verification_locked")
    assert locked.recipient_id == bob.id
    assert locked.detail == {"reason": "code_requests"}


def test_code_entries_limited_per_ip(make_app, app, sender):
    limited = make_app(RATE_LIMIT_CODE_ENTRIES="2 per minute")
    built = make_share(sender, recipients=[BOB, CAROL])
    client = _client(limited)

    statuses = [_post_code(client, built, address).status_code for address in (BOB, CAROL)]
    third = _post_code(client, built, "dave@fabrikam.example")

    assert statuses == [400, 400]
    _assert_too_many(third)
    assert len(events("verification_failed")) == 2


def test_code_entries_limited_per_address(make_app, app, sender):
    limited = make_app(RATE_LIMIT_CODE_ENTRIES_PER_ADDRESS="2 per hour")
    built = make_share(sender, recipients=[BOB])

    responses = [
        _post_code(_client(limited, f"198.51.100.{n}"), built, BOB) for n in range(1, 4)
    ]

    assert [r.status_code for r in responses[:2]] == [400, 400]
    _assert_too_many(responses[2])
    assert len(events("verification_failed")) == 2
    (locked,) = events("verification_locked")
    assert locked.detail == {"reason": "code_entries"}


def _post_unchecked(client, built, path: str, address: str):
    """Post to ``path`` with a CSRF token from the valid link's page, as an attacker can."""
    token = _csrf(client, built.path)
    return client.post(path, data={"address": address, "code": "000000", "csrf_token": token})


@pytest.mark.parametrize(("route", "setting"), [
    ("verify", "RATE_LIMIT_CODE_ENTRIES_PER_ADDRESS"),
    ("code", "RATE_LIMIT_CODE_REQUESTS_PER_ADDRESS"),
])
def test_address_limit_ignores_invalid_link(make_app, app, sender, route, setting):
    limited = make_app(**{setting: "2 per hour"})
    built = make_share(sender, recipients=[BOB])
    junk = [
        _post_unchecked(
            _client(limited, f"198.51.100.{n}"), built, f"/s/not-a-real-link/{route}", BOB
        ).status_code
        for n in range(10, 14)
    ]
    bob = _post_unchecked(_client(limited, "198.51.100.7"), built, f"{built.path}/{route}", BOB)

    assert junk == [404] * 4
    assert bob.status_code != 429
    assert events("verification_locked") == []


@pytest.mark.parametrize(("route", "setting"), [
    ("verify", "RATE_LIMIT_CODE_ENTRIES_PER_ADDRESS"),
    ("code", "RATE_LIMIT_CODE_REQUESTS_PER_ADDRESS"),
])
def test_address_limit_ignores_non_recipient(make_app, app, sender, route, setting):
    limited = make_app(**{setting: "2 per hour"})
    built = make_share(sender, recipients=[BOB])
    other = make_share(sender, recipients=[CAROL])
    # From a new IP each time, as an attacker with many hosts, so that only the per-address
    # limit could answer 429. BOB is not a recipient of the other share.
    refused = [
        _post_unchecked(_client(limited, f"198.51.100.{n}"), other, f"{other.path}/{route}", BOB)
        for n in range(10, 14)
    ]
    stranger = [
        _post_unchecked(
            _client(limited, f"198.51.100.{n}"), built, f"{built.path}/{route}", "eve@evil.example"
        )
        for n in range(20, 24)
    ]
    bob = _post_unchecked(_client(limited, "198.51.100.7"), built, f"{built.path}/{route}", BOB)

    # The code request page refuses with 403, the code form shows its error with 400.
    refusal = 403 if route == "code" else 400
    assert [response.status_code for response in refused] == [refusal] * 4
    assert [response.status_code for response in stranger] == [refusal] * 4
    assert bob.status_code != 429


def test_address_limit_counts_valid_link(make_app, app, sender):
    limited = make_app(RATE_LIMIT_CODE_ENTRIES_PER_ADDRESS="2 per hour")
    built = make_share(sender, recipients=[BOB])
    attacker = _client(limited, "198.51.100.66")

    for _ in range(2):
        _post_unchecked(attacker, built, "/s/not-a-real-link/verify", BOB)
    on_link = [
        _post_unchecked(attacker, built, f"{built.path}/verify", BOB).status_code
        for _ in range(2)
    ]
    bob = _post_unchecked(_client(limited, "198.51.100.7"), built, f"{built.path}/verify", BOB)

    assert on_link == [400, 400]
    _assert_too_many(bob)


def test_ip_limit_counts_invalid_link(make_app, app, sender):
    limited = make_app(RATE_LIMIT_CODE_ENTRIES="2 per minute")
    built = make_share(sender, recipients=[BOB])
    client = _client(limited)

    junk = [
        _post_unchecked(client, built, "/s/not-a-real-link/verify", BOB).status_code
        for _ in range(2)
    ]
    third = _post_unchecked(client, built, f"{built.path}/verify", BOB)

    assert junk == [404, 404]
    _assert_too_many(third)


def test_portal_page_limited_per_ip(make_app, app, sender):
    limited = make_app(RATE_LIMIT_PORTAL="2 per minute")
    built = make_share(sender)
    client = _client(limited)

    statuses = [client.get(built.path).status_code for _ in range(2)]
    third = client.get(built.path)

    assert statuses == [200, 200]
    _assert_too_many(third)
    assert len(events("link_opened")) == 2


def test_download_limited_per_ip(make_app, serve, app, sender):
    base = serve(make_app(RATE_LIMIT_PORTAL="2 per minute"))
    built = make_share(sender, verification="none")
    url = f"{base}{built.path}/files/{built.files[0].id}"
    with requests.Session() as session:
        page = session.get(base + built.path, timeout=30)
        token = unescape(CSRF_FIELD.search(page.text).group(1))
        first = session.post(url, data={"csrf_token": token}, timeout=30)
        second = session.post(url, data={"csrf_token": token}, timeout=30)

    # The page that gave the CSRF token was the first of the two requests allowed.
    assert first.status_code == 200
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1
    assert len(events("downloaded")) == 1


def test_tracking_image_limited_per_ip(make_app, app, sender):
    limited = make_app(RATE_LIMIT_TRACKING_IMAGE="2 per minute")
    built = make_share(sender)
    client = _client(limited)

    statuses = [client.get(built.image_path).status_code for _ in range(2)]
    third = client.get(built.image_path)

    assert statuses == [200, 200]
    assert third.status_code == 429
    assert third.data == TRANSPARENT_GIF
    assert third.headers["Content-Type"] == "image/gif"
    assert int(third.headers["Retry-After"]) >= 1
    assert len(events("opened")) == 2


def test_limited_request_gets_json(make_app, app, sender):
    limited = make_app(RATE_LIMIT_PORTAL="1 per minute")
    built = make_share(sender)
    client = _client(limited)

    client.get(built.path)
    response = client.get(built.path, headers={"Accept": "application/json"})

    assert response.status_code == 429
    assert response.json["error"] == "too_many_requests"
    assert response.json["retryAfter"] == int(response.headers["Retry-After"])


def test_retry_after_counts_to_window_end(make_app, app, sender):
    limited = make_app(RATE_LIMIT_PORTAL="1 per hour")
    built = make_share(sender)
    client = _client(limited)

    client.get(built.path)
    response = client.get(built.path)

    # Flask-Limiter keeps window ends in whole seconds, so the value may be one more.
    assert 3500 <= int(response.headers["Retry-After"]) <= 3601
    assert re.search(r"Wait 60 minutes", response.get_data(as_text=True))


def test_redis_counters_shared_between_processes(make_app, app, sender):
    # Two apps stand for two processes of one deployment that share Redis on loopback.
    prefix = f"mailgrip-test-{secrets.token_hex(6)}"
    settings = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "RATE_LIMIT_KEY_PREFIX": prefix,
        "RATE_LIMIT_PORTAL": "2 per minute",
    }
    first, second = make_app(**settings), make_app(**settings)
    built = make_share(sender)

    one = _client(first).get(built.path)
    two = _client(second).get(built.path)
    three = _client(first).get(built.path)

    assert one.status_code == 200
    assert two.status_code == 200
    _assert_too_many(three)


def test_memory_counters_kept_per_process(make_app, app, sender):
    first = make_app(RATE_LIMIT_PORTAL="1 per minute")
    second = make_app(RATE_LIMIT_PORTAL="1 per minute")
    built = make_share(sender)

    assert _client(first).get(built.path).status_code == 200
    assert _client(second).get(built.path).status_code == 200
    assert _client(first).get(built.path).status_code == 429


def test_unreachable_redis_falls_back_to_memory(make_app, app, sender, caplog):
    # Port 9 (discard) has no Redis on loopback, so every connection is refused.
    limited = make_app(REDIS_URL="redis://127.0.0.1:9/0", RATE_LIMIT_PORTAL="1 per minute")
    built = make_share(sender)
    client = _client(limited)

    first = client.get(built.path)
    second = client.get(built.path)

    assert first.status_code == 200
    _assert_too_many(second)


@pytest.mark.parametrize("setting", ["RATE_LIMIT_PORTAL", "RATE_LIMIT_CODE_REQUESTS"])
def test_invalid_rate_limit_names_setting(make_app, setting):
    from mailgrip.config import ConfigError

    with pytest.raises(ConfigError, match=f"MAILGRIP_{setting}='often'"):
        make_app(**{setting: "often"})


def test_events_not_added_past_limit(make_app, app, sender):
    limited = make_app(RATE_LIMIT_PORTAL="5 per minute", RATE_LIMIT_TRACKING_IMAGE="5 per minute")
    built = make_share(sender)
    client = _client(limited)

    for _ in range(20):
        client.get(built.path)
        client.get(built.image_path)

    assert len(events()) == 10
    assert {event.kind for event in events()} == {"link_opened", "opened"}
    assert all(isinstance(event, Event) for event in events())
