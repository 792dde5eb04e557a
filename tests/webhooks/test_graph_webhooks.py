"""Graph webhooks: validation echo without database work, clientState, acknowledgement."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from jobs import wait_for, wait_until_idle

from mailgrip.db import db
from mailgrip.mirror.models import Mailbox
from mailgrip.shares.tokens import hash_token
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
