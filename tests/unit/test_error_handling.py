"""The shared error handler: JSON or a page, a rolled-back session, and no token in the log."""

from __future__ import annotations

import logging

import pytest

import mailgrip.web.portal as portal

TOKEN = "kL0dPZt8Yw2cUq4mVb7nRj1sXa9eHf3gTi5oBy6uWzM"


@pytest.fixture
def broken_portal(monkeypatch):
    # An unexpected exception inside the portal simulates a bug; nothing else can make the
    # handler's catch-all branch run.
    def fail(token):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(portal, "find_share_by_link_token", fail)


def test_unexpected_error_page_without_token(client, caplog, broken_portal):
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/s/{TOKEN}", headers={"Accept": "text/html"})

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "simulated bug" not in response.get_data(as_text=True)
    assert "Unhandled error on GET /s/<token>" in caplog.text
    assert TOKEN not in caplog.text


def test_unknown_api_route_answers_json(client):
    response = client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_portal_not_found_is_page(client):
    response = client.get(f"/s/{TOKEN}", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_method_not_allowed_keeps_allow_header(client):
    response = client.get(f"/s/{TOKEN}/files/1", headers={"Accept": "text/html"})
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "cannot be opened directly" in response.get_data(as_text=True)
