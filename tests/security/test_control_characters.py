"""Control characters in paths, query arguments and form fields get 400 on every surface.

PostgreSQL raises DataError on NUL in a text comparison, and SQLite ends a LIKE pattern at NUL,
so without the shared check these requests gave 500 on one database and every row on the other.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from admin.conftest import admin_client, admin_user  # noqa: F401  (fixtures)
from builders import make_share
from portal_helpers import csrf_token

from mailgrip.admin.search import find_messages
from mailgrip.db import db
from mailgrip.verification.models import VerificationCode

API_PATHS = [
    ("/api/shares/a%00b", "path"),
    ("/api/shares/a%00b/uploads/1", "path"),
    ("/api/messages/1%00", "path"),
    ("/api/messages/lookup?internetMessageId=a%00b", "internetMessageId"),
    ("/api/messages/lookup?graphId=%01", "graphId"),
]
ADMIN_PATHS = [
    ("/admin/messages?q=%00", "q"),
    ("/admin/messages?q=a%00b", "q"),
    ("/admin/messages?q=x@y%00.com", "q"),
    ("/admin/messages/1%00", "path"),
]


@pytest.mark.parametrize(("path", "parameter"), API_PATHS)
def test_api_control_character_rejected(client, alice_headers, path, parameter):
    response = client.get(path, headers=alice_headers)

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_request"
    assert body["detail"] == {"parameter": parameter}
    assert "control character" in body["message"]


@pytest.mark.parametrize(("path", "parameter"), ADMIN_PATHS)
def test_admin_control_character_rejected(admin_client, path, parameter):  # noqa: F811
    response = admin_client.get(path, headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "control character" in html
    if parameter != "path":
        assert f"query parameter {parameter}" in html


def test_portal_path_control_character_rejected(client, sender):
    built = make_share(sender)

    paths = [f"{built.path}%00x", f"{built.path}?visit=%00", "/s/%00%ff%fe", "/s/a%00b/code"]

    for path in paths:
        response = client.get(path, headers={"Accept": "text/html"})

        assert response.status_code == 400, path
        assert response.mimetype == "text/html", path
        assert "control character" in response.get_data(as_text=True), path


@pytest.mark.parametrize("step", ["code", "verify"])
def test_portal_form_field_nul_rejected(client, emulator, sender, step):
    built = make_share(sender)
    token = csrf_token(client, built.path)

    response = client.post(
        f"{built.path}/{step}",
        data={"address": "bob@fab\0rikam.example", "code": "123456", "csrf_token": token},
    )
    html = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "The field address contains a NUL character" in html
    assert db.session.scalars(sa.select(VerificationCode)).all() == []


def test_unknown_path_control_character_rejected(client):
    response = client.get("/no%00where", headers={"Accept": "application/json"})

    assert response.status_code == 400
    assert response.get_json()["detail"] == {"parameter": "path"}


def test_surfaces_walk_never_500(client, alice_headers, sender):
    """Every path of each surface with NUL somewhere gets 400 or 404, never 500."""
    built = make_share(sender)
    paths = [
        "/api/shares/%00",
        "/api/messages/lookup?graphId=a%00",
        "/api/messages/99%00/blocks",
        f"{built.path}/files/1%00",
        "/admin/messages?q=%00",
        "/graph/notifications?validationToken=a%00b",
    ]

    for path in paths:
        response = client.get(path, headers=alice_headers)

        assert response.status_code in (400, 404), path


def test_tracking_image_keeps_pixel(client):
    # A mail client shows the pixel for any path under /o/, never a broken image.
    response = client.get("/o/ab%00c.gif?x=%01")

    assert response.status_code == 200
    assert response.mimetype == "image/gif"


@pytest.mark.parametrize("query", ["\0", "\x01\x02", " \0 ", "\x7f"])
def test_search_of_control_characters_finds_nothing(app, sender, query):
    built = make_share(sender)
    built.message.subject = "Budget"
    db.session.commit()

    assert find_messages(query) == []
