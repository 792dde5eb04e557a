"""Which shares resumable uploads may change, and the limit on a draft share's total size."""

from __future__ import annotations

import pytest
import requests
from builders import make_message
from upload_helpers import (
    draft_share,
    one_request_share,
    put_chunk,
    start_upload,
    stored_paths,
)

from mailgrip.config import Settings
from mailgrip.db import db
from mailgrip.mirror.models import Mailbox
from mailgrip.shares.models import Share, Upload


@pytest.fixture
def share_limit(app):
    """Set ``MAILGRIP_MAX_SHARE_BYTES`` for the live server by calling the returned function."""
    original = app.extensions["mailgrip.settings"]

    def set_limit(limit: int) -> None:
        app.extensions["mailgrip.settings"] = Settings(
            {**original.values, "max_share_bytes": limit}
        )

    yield set_limit
    app.extensions["mailgrip.settings"] = original


def test_one_request_share_gains_no_upload(live_server, app, alice_headers):
    share = one_request_share(live_server, alice_headers, "report.pdf", b"%PDF-1.7 as sent")
    before = {path: path.read_bytes() for path in stored_paths(app)}

    response = start_upload(live_server, alice_headers, share["id"], "late.pdf", 4)

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict"
    assert body["detail"]["reason"] == "not_draft"
    assert body["detail"]["shareId"] == share["id"]
    assert f"Share {share['id']} was created with its files in one request" in body["message"]
    assert '{"draft": true}' in body["message"]
    db.session.expire_all()
    assert [file.display_name for file in db.session.get(Share, share["id"]).files] == [
        "report.pdf"
    ]
    assert db.session.query(Upload).count() == 0
    assert {path: path.read_bytes() for path in stored_paths(app)} == before


def test_one_request_share_upload_cannot_change(live_server, app, alice_headers):
    # No route creates an upload in a one-request share; a row from before the draft flag
    # existed can, and must be neither completed nor removed.
    share = one_request_share(live_server, alice_headers)
    row = db.session.get(Share, share["id"])
    upload = Upload(
        share_id=row.id,
        display_name="old.bin",
        size=2,
        content_type="application/octet-stream",
        storage_key="0" * 64,
    )
    db.session.add(upload)
    db.session.commit()

    chunk = put_chunk(live_server, alice_headers, share["id"], upload.id, b"ab", 0, 2)
    removal = requests.delete(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload.id}",
        headers=alice_headers,
        timeout=30,
    )

    assert chunk.status_code == 409
    assert chunk.json()["detail"]["reason"] == "not_draft"
    assert removal.status_code == 409
    assert removal.json()["detail"]["reason"] == "not_draft"
    db.session.expire_all()
    assert db.session.get(Upload, upload.id).file_id is None
    assert len(db.session.get(Share, share["id"]).files) == 1


def test_sent_draft_names_share_and_reason(live_server, app, alice_headers):
    share = draft_share(live_server, alice_headers)
    row = db.session.get(Share, share["id"])
    message = make_message(db.session.get(Mailbox, row.owner_mailbox_id), share=row)

    response = start_upload(live_server, alice_headers, share["id"], "late.pdf", 4)

    assert response.status_code == 409
    assert response.json()["detail"] == {"reason": "sent", "shareId": share["id"]}
    assert f"with message {message.id}" in response.json()["message"]


def test_draft_total_size_limited(live_server, app, alice_headers, share_limit):
    share_limit(10_000)
    share = draft_share(live_server, alice_headers)

    first = start_upload(live_server, alice_headers, share["id"], "a.bin", 6_000)
    over = start_upload(live_server, alice_headers, share["id"], "b.bin", 4_001)
    exact = start_upload(live_server, alice_headers, share["id"], "c.bin", 4_000)

    assert first.status_code == 201
    assert over.status_code == 413
    assert over.json()["error"] == "payload_too_large"
    assert over.json()["detail"] == {"limit": 10_000, "shareBytes": 6_000}
    assert "10000 bytes" in over.json()["message"]
    assert "MAILGRIP_MAX_SHARE_BYTES" in over.json()["message"]
    assert exact.status_code == 201
    db.session.expire_all()
    assert sorted(u.display_name for u in db.session.query(Upload)) == ["a.bin", "c.bin"]


def test_chunk_over_total_refused_unstored(live_server, app, alice_headers, share_limit):
    # Uploads started at the same moment, or before the limit was lowered, can exceed the
    # limit together; the earlier upload keeps its space.
    share = draft_share(live_server, alice_headers)
    earlier = start_upload(live_server, alice_headers, share["id"], "a.bin", 6_000).json()
    later = start_upload(live_server, alice_headers, share["id"], "b.bin", 4_000).json()
    share_limit(8_000)

    refused = put_chunk(
        live_server, alice_headers, share["id"], later["id"], b"x" * 4_000, 0, 4_000
    )
    accepted = put_chunk(
        live_server, alice_headers, share["id"], earlier["id"], b"y" * 6_000, 0, 6_000
    )

    assert refused.status_code == 413
    assert refused.json()["detail"] == {"limit": 8_000, "shareBytes": 10_000}
    assert f"Upload {later['id']} would bring share {share['id']}" in refused.json()["message"]
    assert accepted.status_code == 200
    assert accepted.json()["complete"] is True
    status = requests.get(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{later['id']}",
        headers=alice_headers,
        timeout=30,
    ).json()
    assert status["receivedBytes"] == 0
    assert len(stored_paths(app)) == 1
