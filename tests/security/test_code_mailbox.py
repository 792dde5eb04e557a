"""Codes mailed through Graph sendMail from a configured service mailbox."""

from __future__ import annotations

import requests
from builders import make_share
from portal_helpers import events

BOB = "bob@fabrikam.example"


def _outbox(emulator) -> list[dict]:
    response = requests.get(
        f"{emulator.base_url}/_emulator/outbox", verify=str(emulator.ca_path), timeout=30
    )
    return response.json()["value"]


def _request_code(app, built):
    client = app.test_client()
    page = client.get(built.path).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post(f"{built.path}/code", data={"address": BOB, "csrf_token": token})


def test_code_sent_from_service_mailbox(make_app, make_user, emulator, sender):
    service = make_user("codes@contoso.example", "Mailgrip codes")
    app = make_app(CODE_MAILBOX=service.address)
    built = make_share(sender)

    response = _request_code(app, built)

    (mail,) = _outbox(emulator)
    assert response.status_code == 303
    assert mail["from"] == service.address
    assert mail["to"] == [BOB]
    assert emulator.messages(service.address, "sentitems") == []
    assert len(events("code_sent")) == 1


def test_unknown_service_mailbox_explained(make_app, emulator, sender, caplog):
    app = make_app(CODE_MAILBOX="nobody@contoso.example")
    built = make_share(sender)

    response = _request_code(app, built)

    assert response.status_code == 502
    assert "The code could not be sent" in response.get_data(as_text=True)
    assert "nobody@contoso.example" in caplog.text
    assert _outbox(emulator) == []
    assert events("code_sent") == []
