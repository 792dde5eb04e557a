"""Graph webhooks: validation echo without database work, clientState, acknowledgement."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
import requests
import sqlalchemy as sa
from jobs import wait_for, wait_until_idle

from mailgrip.db import db
from mailgrip.mirror.models import Mailbox
from mailgrip.shares.tokens import hash_token
from mailgrip.web.webhooks import MAX_NOTIFICATION_BYTES, MAX_NOTIFICATIONS_PER_POST
from mailgrip.worker.consumer import start_consumer

SENTENCE = (
    "Validation: Testing client application reachability for subscription Request-Id: "
    "8f0b3c2e-1d4a-4f6e-9b7c-2a1d3e4f5a6b"
)
CLIENT_STATE = "the-client-state-secret-of-this-subscription"


@pytest.fixture
def statements(app):
    """Count the SQL statements that the database engine runs."""
    counted: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        counted.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    yield counted
    sa.event.remove(db.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("path", ["/graph/notifications", "/graph/lifecycle"])
@pytest.mark.parametrize("encode", [quote, lambda text: text.replace(" ", "+")])
def test_validation_token_echoed_exactly(client, statements, path, encode):
    response = client.post(f"{path}?validationToken={encode(SENTENCE)}")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == SENTENCE
    assert statements == []


def test_validation_needs_no_queue(client, app, monkeypatch):
    # A queue that fails on any use: the validation response must not touch it.
    monkeypatch.setitem(app.extensions, "mailgrip.queue", None)

    response = client.post(f"/graph/notifications?validationToken={quote(SENTENCE)}")

    assert response.get_data(as_text=True) == SENTENCE


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"value": "x"}', b'{"value": [1]}', b'{"other": []}'],
)
def test_malformed_notification_rejected(client, body):
    response = client.post(
        "/graph/notifications", data=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "notification collection" in response.get_json()["message"]


def _subscribed_mailbox() -> Mailbox:
    mailbox = Mailbox(
        tenant_id="tenant",
        object_id="00000000-0000-0000-0000-00000000000a",
        address="alice@contoso.example",
        subscription_id="subscription-1",
        subscription_client_state_hash=hash_token(CLIENT_STATE),
    )
    db.session.add(mailbox)
    db.session.commit()
    return mailbox


def test_notification_acknowledged_before_processing(client, app, statements):
    response = client.post(
        "/graph/notifications",
        json={"value": [{"subscriptionId": "subscription-1", "changeType": "created"}]},
    )

    assert response.status_code == 202
    assert statements == []
    assert app.extensions["mailgrip.queue"].pending() == 1


def test_wrong_client_state_ignored_and_logged(client, app, live_server, caplog):
    mailbox = _subscribed_mailbox()
    wrong = "a-guessed-client-state-value"
    notification = {
        "subscriptionId": "subscription-1",
        "clientState": wrong,
        "changeType": "created",
        "resourceData": {"id": "AAMkAGI2THVSAAA="},
    }
    consumer = start_consumer(live_server.app, workers=1)
    try:
        with caplog.at_level(logging.WARNING, logger="mailgrip"):
            response = client.post("/graph/notifications", json={"value": [notification]})
            wait_until_idle(app.extensions["mailgrip.queue"])
    finally:
        consumer.stop(graceful=True)

    db.session.refresh(mailbox)
    assert response.status_code == 202
    assert mailbox.last_notification_at is None
    assert "wrong clientState" in caplog.text
    assert wrong not in caplog.text


def test_right_client_state_recorded(client, app, live_server):
    mailbox = _subscribed_mailbox()
    notification = {
        "subscriptionId": "subscription-1",
        "clientState": CLIENT_STATE,
        "changeType": "updated",
    }
    consumer = start_consumer(live_server.app, workers=1)
    try:
        client.post("/graph/notifications", json={"value": [notification]})

        def recorded():
            db.session.rollback()
            return db.session.get(Mailbox, mailbox.id).last_notification_at

        wait_for(recorded, what="the notification to be recorded")
    finally:
        consumer.stop(graceful=True)


def _flood(count: int, client_state: str = "a-guessed-client-state-value") -> list[dict]:
    return [
        {"subscriptionId": f"x{index}", "clientState": client_state, "changeType": "created"}
        for index in range(count)
    ]


def test_ignored_notifications_logged_once(app, statements, caplog):
    from mailgrip.mirror.notifications import apply_change_notifications
    from mailgrip.services import services

    mailbox = _subscribed_mailbox()
    guess = "a-guessed-client-state-value"
    batch = [
        *_flood(500, guess),
        {"subscriptionId": "subscription-1", "clientState": guess},
        {"subscriptionId": "sub\0scription"},
        {"clientState": guess},
    ]
    settings = app.extensions["mailgrip.settings"]
    statements.clear()

    with caplog.at_level(logging.INFO, logger="mailgrip"):
        result = apply_change_notifications(batch, services().graph, settings)

    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert result.ignored == 503
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert line.startswith("Ignored 503 of 503 notifications")
    assert "500 for unknown subscriptions ('x0', 'x1', 'x2', ...)" in line
    assert "1 with a wrong clientState (subscriptions 'subscription-1')" in line
    assert "2 without a subscriptionId" in line
    assert guess not in caplog.text
    # One query finds the mailboxes of the whole batch.
    assert len([sql for sql in statements if "FROM mailbox" in sql]) == 1
    db.session.refresh(mailbox)
    assert mailbox.last_notification_at is None


def test_unknown_lifecycle_events_logged_once(app, caplog):
    from mailgrip.mirror.notifications import lifecycle_events

    batch = [{"subscriptionId": "x", "lifecycleEvent": f"event{index}"} for index in range(50)]
    batch += [{"subscriptionId": "y", "lifecycleEvent": "missed"}]

    with caplog.at_level(logging.WARNING, logger="mailgrip"):
        events = lifecycle_events(batch)

    assert events == []
    assert len(caplog.records) == 1
    line = caplog.records[0].getMessage()
    assert line.startswith("Ignored 51 of 51 notifications")
    assert "50 with an unknown lifecycleEvent" in line
    assert "1 for unknown subscriptions ('y')" in line


@pytest.mark.parametrize("path", ["/graph/notifications", "/graph/lifecycle"])
def test_batch_over_count_limit_rejected(client, app, path):
    response = client.post(path, json={"value": _flood(MAX_NOTIFICATIONS_PER_POST + 1)})

    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert f"limit is {MAX_NOTIFICATIONS_PER_POST} per request" in response.get_json()["message"]
    assert app.extensions["mailgrip.queue"].pending() == 0


def test_batch_at_count_limit_accepted(client, app):
    response = client.post(
        "/graph/notifications", json={"value": _flood(MAX_NOTIFICATIONS_PER_POST)}
    )

    assert response.status_code == 202
    assert app.extensions["mailgrip.queue"].pending() == 1


def _chunked(body: bytes):
    """Yield ``body`` in 64 KiB pieces, so that requests sends it chunked without a length."""
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def _post_chunked(live_server, body: bytes) -> requests.Response:
    """POST ``body`` to the webhook with chunked transfer encoding and no Content-Length."""
    return requests.post(
        f"{live_server.url}/graph/notifications",
        data=_chunked(body),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )


def test_chunked_body_over_size_limit_rejected(live_server, app):
    # A valid collection within the count limit, padded past the byte limit.
    padding = "p" * (MAX_NOTIFICATION_BYTES // MAX_NOTIFICATIONS_PER_POST)
    batch = [{**item, "resource": padding} for item in _flood(MAX_NOTIFICATIONS_PER_POST)]
    body = json.dumps({"value": batch}).encode()
    assert len(body) > MAX_NOTIFICATION_BYTES

    response = _post_chunked(live_server, body)

    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413
    assert str(MAX_NOTIFICATION_BYTES) in response.json()["message"]
    assert app.extensions["mailgrip.queue"].pending() == 0


def test_chunked_body_within_size_limit_accepted(live_server, app):
    body = json.dumps({"value": _flood(10)}).encode()

    response = _post_chunked(live_server, body)

    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 202
    assert app.extensions["mailgrip.queue"].pending() == 1
