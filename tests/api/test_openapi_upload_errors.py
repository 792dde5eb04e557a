"""The OpenAPI document declares the draft-share errors, in the form the server sends them."""

from __future__ import annotations

import jsonschema_rs
import pytest
import requests
from builders import make_message
from upload_helpers import draft_share, one_request_share, put_chunk, start_upload

from mailgrip.config import Settings
from mailgrip.db import db
from mailgrip.shares.models import Share

UPLOADS = "/api/shares/{shareId}/uploads"
UPLOAD = "/api/shares/{shareId}/uploads/{uploadId}"


def _check_declared(live_server, path: str, method: str, response: requests.Response) -> None:
    document = requests.get(f"{live_server.url}/api/openapi.json", timeout=30).json()
    declared = document["paths"][path][method]["responses"]
    assert str(response.status_code) in declared, f"{method} {path} {response.status_code}"
    schema = declared[str(response.status_code)]["content"]["application/json"]["schema"]
    jsonschema_rs.validate({**schema, "components": document["components"]}, response.json())


def test_not_draft_conflict_declared(live_server, app, alice_headers):
    created = one_request_share(live_server, alice_headers)

    response = start_upload(live_server, alice_headers, created["id"], "b.txt", 1)

    assert response.status_code == 409
    _check_declared(live_server, UPLOADS, "post", response)


@pytest.mark.parametrize("route", ["start", "chunk"])
def test_share_too_large_declared(live_server, app, alice_headers, route):
    share = draft_share(live_server, alice_headers)
    upload = start_upload(live_server, alice_headers, share["id"], "a.bin", 10).json()
    settings = app.extensions["mailgrip.settings"]
    app.extensions["mailgrip.settings"] = Settings({**settings.values, "max_share_bytes": 5})
    try:
        if route == "start":
            response = start_upload(live_server, alice_headers, share["id"], "b.bin", 1)
        else:
            response = put_chunk(
                live_server, alice_headers, share["id"], upload["id"], b"x" * 10, 0, 10
            )
    finally:
        app.extensions["mailgrip.settings"] = settings

    assert response.status_code == 413
    if route == "start":
        _check_declared(live_server, UPLOADS, "post", response)
    else:
        _check_declared(live_server, UPLOAD, "put", response)


def test_sent_conflict_on_removal_declared(live_server, app, alice_headers):
    share = draft_share(live_server, alice_headers)
    upload = start_upload(live_server, alice_headers, share["id"], "a.bin", 1).json()
    row = db.session.get(Share, share["id"])
    make_message(row.owner, share=row)

    response = requests.delete(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        headers=alice_headers,
        timeout=30,
    )

    assert response.status_code == 409
    _check_declared(live_server, UPLOAD, "delete", response)
