"""CSRF tokens on portal forms: valid for the whole browser session, and a plain page on failure."""

from __future__ import annotations

import time

import pytest
from builders import make_share
from itsdangerous import TimestampSigner
from portal_helpers import csrf_token, events

BOB = "bob@fabrikam.example"
TWO_HOURS = 2 * 60 * 60


@pytest.mark.parametrize("step", ["code", "verify", "files/{file_id}"])
def test_missing_token_shows_expired_page(client, sender, step):
    built = make_share(sender)
    client.get(built.path)
    path = f"{built.path}/{step.format(file_id=built.files[0].id)}"

    response = client.post(path, data={"address": BOB, "code": "123456"})
    html = response.get_data(as_text=True)

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "This page has expired. Reload the page and try again." in html
    assert f'href="{built.path}"' in html
    assert "CSRF" not in html
    assert events("code_sent") == []
    assert events("downloaded") == []


def test_wrong_token_shows_expired_page(client, sender):
    built = make_share(sender, verification="none")
    client.get(built.path)

    response = client.post(
        f"{built.path}/files/{built.files[0].id}", data={"csrf_token": "not-a-token"}
    )

    assert response.status_code == 400
    assert "This page has expired" in response.get_data(as_text=True)
    assert events("downloaded") == []


def test_token_from_old_page_still_works(client, sender, monkeypatch):
    built = make_share(sender, verification="none")
    # The page was rendered two hours ago and left open since.
    with monkeypatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - TWO_HOURS)
        token = csrf_token(client, built.path)

    response = client.post(f"{built.path}/files/{built.files[0].id}", data={"csrf_token": token})
    response.get_data()

    assert response.status_code == 200
    assert len(events("downloaded")) == 1
