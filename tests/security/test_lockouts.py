"""Lockouts of code verification, recorded as events and shown to the sender."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import make_share
from portal_helpers import csrf_token, events
from recipient import Recipient

from mailgrip.db import db, utcnow
from mailgrip.verification.lockouts import LOCKOUT_EVENT_INTERVAL, record_lockout

BOB = "bob@fabrikam.example"


def _request_code(client, built, address: str = BOB):
    token = csrf_token(client, built.path)
    return client.post(f"{built.path}/code", data={"address": address, "csrf_token": token})


def _enter_code(client, built, code: str, address: str = BOB):
    token = csrf_token(client, built.path)
    return client.post(
        f"{built.path}/verify", data={"address": address, "code": code, "csrf_token": token}
    )


def _tracking(client, built, headers) -> dict:
    response = client.get(f"/api/messages/{built.message.id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_last_wrong_attempt_records_lockout(client, emulator, sender):
    built = make_share(sender)
    bob = built.recipient(BOB)
    _request_code(client, built)

    statuses = [_enter_code(client, built, "000000").status_code for _ in range(7)]

    assert statuses == [400] * 7
    (locked,) = events("verification_locked")
    assert locked.recipient_id == bob.id
    assert locked.detail == {"reason": "attempts"}


def test_lockout_counts_attempts_from_any_ip(make_app, app, emulator, sender):
    # Five clients on five IP addresses share the recipient's attempts. A second app, because
    # requests of the live server's app reuse the test's app context and so its CSRF token.
    portal = make_app()
    built = make_share(sender)
    clients = []
    for n in range(5):
        client = portal.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        clients.append(client)
    _request_code(clients[0], built)

    for client in clients:
        _enter_code(client, built, "000000")
    sixth = _enter_code(clients[0], built, "000000")

    assert "entered wrongly too many times" in sixth.get_data(as_text=True)
    assert len(events("verification_locked")) == 1


def test_hourly_code_cap_records_lockout(make_app, app, emulator, sender):
    # The per-IP limit is raised, so that the cap of codes per recipient is what stops them.
    client = make_app(RATE_LIMIT_CODE_REQUESTS="100 per minute").test_client()
    built = make_share(sender)

    statuses = [_request_code(client, built).status_code for _ in range(7)]

    assert statuses == [303] * 5 + [429] * 2
    (locked,) = events("verification_locked")
    assert locked.detail == {"reason": "code_requests"}


def test_lockout_event_once_per_interval(app, sender):
    built = make_share(sender)
    bob = built.recipient(BOB)
    now = utcnow()

    first = record_lockout(built.share, bob, "attempts", now=now)
    db.session.commit()
    repeated = record_lockout(built.share, bob, "attempts", now=now + timedelta(minutes=1))
    other_reason = record_lockout(built.share, bob, "code_requests", now=now)
    db.session.commit()
    later = record_lockout(built.share, bob, "attempts", now=now + LOCKOUT_EVENT_INTERVAL * 2)

    assert first is True
    assert repeated is False
    assert other_reason is True
    assert later is True


def test_unknown_lockout_reason_rejected(app, sender):
    built = make_share(sender)

    with pytest.raises(ValueError, match="unknown lockout reason"):
        record_lockout(built.share, built.recipient(BOB), "bored")


def test_tracking_shows_lockout(client, emulator, sender, alice_headers):
    built = make_share(sender)
    _request_code(client, built)
    for _ in range(5):
        _enter_code(client, built, "000000")

    tracking = _tracking(client, built, alice_headers)

    (bob,) = tracking["recipients"]
    assert bob["verificationLocked"]["count"] == 1
    assert bob["verificationLocked"]["lastAt"].endswith("Z")


def test_tracking_shows_refused_domains(client, emulator, sender, alice_headers):
    built = make_share(sender)
    _request_code(client, built, "mallory@evil.example")
    _request_code(client, built, "eve@Other.Example")

    refused = _tracking(client, built, alice_headers)["message"]["forwardedAccess"]

    assert refused["count"] == 2
    assert refused["domains"] == ["evil.example", "other.example"]


def test_code_never_logged(live_server, app, emulator, sender, caplog):
    built = make_share(sender)
    bob = Recipient(f"{live_server.url}{built.path}", BOB, emulator)
    with caplog.at_level("DEBUG"), bob.session:
        verified = bob.verify()
        code = bob.latest_code()

    assert verified.status_code == 200
    assert code not in caplog.text
