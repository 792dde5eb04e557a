"""Draft shares and resumable uploads: chunks, resuming, completion, removal, ownership, races."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import re
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from builders import make_message
from upload_helpers import draft_share as _draft
from upload_helpers import put_chunk as _put
from upload_helpers import start_upload as _start
from upload_helpers import stored_paths as _stored_paths

from mailgrip.config import Settings
from mailgrip.db import db
from mailgrip.mirror.models import Mailbox
from mailgrip.shares.models import File, Share, Upload
from mailgrip.shares.resumable import parse_content_range, receive_chunk
from mailgrip.shares.storage import current_storage

LIMIT = 8 * 1024 * 1024  # MAILGRIP_MAX_UPLOAD_BYTES in tests/conftest.py


def test_draft_share_has_link_and_no_files(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers, verification="none")

    assert share["link"].startswith(f"{live_server.url}/s/")
    assert share["openTrackingUrl"].startswith(f"{live_server.url}/o/")
    assert share["files"] == []
    assert share["verification"] == "none"


def test_draft_share_rejects_unknown_verification(live_server, app, alice_headers):
    response = requests.post(
        f"{live_server.url}/api/shares",
        json={"draft": True, "verification": "maybe"},
        headers=alice_headers,
        timeout=30,
    )

    assert response.status_code == 400
    assert "'maybe'" in response.json()["message"]


def test_chunks_complete_a_file(live_server, app, alice_headers):
    data = secrets.token_bytes(300_000)
    share = _draft(live_server, alice_headers)
    started = _start(live_server, alice_headers, share["id"], "Board pack.pdf", len(data))
    assert started.status_code == 201
    upload = started.json()
    assert upload["receivedBytes"] == 0
    assert upload["complete"] is False

    first = _put(
        live_server, alice_headers, share["id"], upload["id"], data[:100_000], 0, len(data)
    )
    assert first.status_code == 200
    assert first.json()["receivedBytes"] == 100_000
    assert first.json()["complete"] is False
    last = _put(
        live_server, alice_headers, share["id"], upload["id"], data[100_000:], 100_000, len(data)
    )

    assert last.status_code == 200
    body = last.json()
    assert body["complete"] is True
    assert body["receivedBytes"] == len(data)
    assert body["file"]["name"] == "Board pack.pdf"
    assert body["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    file = db.session.get(File, body["file"]["id"])
    assert file.share_id == share["id"]
    stored = Path(app.extensions["mailgrip.settings"].storage_dir) / file.storage_key[:2]
    assert (stored / file.storage_key).read_bytes() == data


def test_empty_file_completes_on_status(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "empty.txt", 0).json()

    # An empty file has no byte to send, so no chunk can complete it: it is complete at once.
    assert upload["complete"] is True
    assert upload["file"]["size"] == 0


def test_wrong_offset_conflicts_with_received(live_server, app, alice_headers):
    data = secrets.token_bytes(5000)
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", len(data)).json()
    _put(live_server, alice_headers, share["id"], upload["id"], data[:2000], 0, len(data))

    repeated = _put(
        live_server, alice_headers, share["id"], upload["id"], data[:2000], 0, len(data)
    )
    skipped = _put(
        live_server, alice_headers, share["id"], upload["id"], data[3000:], 3000, len(data)
    )

    assert repeated.status_code == 409
    assert repeated.json()["detail"]["receivedBytes"] == 2000
    assert skipped.status_code == 409
    assert "continue from byte 2000" in skipped.json()["message"]


def test_resume_after_interrupted_chunk(live_server, app, alice_headers):
    data = secrets.token_bytes(50_000)
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", len(data)).json()
    _put(live_server, alice_headers, share["id"], upload["id"], data[:10_000], 0, len(data))

    status = requests.get(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        headers=alice_headers,
        timeout=30,
    )
    received = status.json()["receivedBytes"]
    rest = _put(
        live_server, alice_headers, share["id"], upload["id"], data[received:], received, len(data)
    )

    assert status.status_code == 200
    assert received == 10_000
    assert rest.json()["file"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_complete_upload_rejects_more_chunks(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 3).json()
    _put(live_server, alice_headers, share["id"], upload["id"], b"abc", 0, 3)

    again = _put(live_server, alice_headers, share["id"], upload["id"], b"abc", 0, 3)

    assert again.status_code == 409
    assert again.json()["detail"]["receivedBytes"] == 3


@pytest.mark.parametrize(
    "content_range",
    [
        None,
        "bytes 0-9",
        "bytes */10",
        "bytes 5-2/10",
        "bytes 0-10/10",
        "bytes 0-4/11",
        "items 0-4/10",
    ],
)
def test_bad_content_range_rejected(live_server, app, alice_headers, content_range):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 10).json()
    headers = dict(alice_headers)
    if content_range is not None:
        headers["Content-Range"] = content_range

    response = requests.put(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        data=b"01234",
        headers=headers,
        timeout=30,
    )

    assert response.status_code == 400
    assert "Content-Range" in response.json()["message"]


def test_body_length_must_match_range(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 10).json()

    response = requests.put(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        data=b"0123",
        headers={**alice_headers, "Content-Range": "bytes 0-4/10"},
        timeout=30,
    )

    assert response.status_code == 400
    assert "Content-Length" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"size": 10}, "name"),
        ({"name": " ", "size": 10}, "name"),
        ({"name": "a.txt"}, "size"),
        ({"name": "a.txt", "size": -1}, "size"),
        ({"name": "a.txt", "size": "10"}, "size"),
        ({"name": "a.txt", "size": True}, "size"),
        ({"name": "a.txt", "size": 1, "contentType": 5}, "contentType"),
    ],
)
def test_start_rejects_invalid_values(live_server, app, alice_headers, body, field):
    share = _draft(live_server, alice_headers)

    response = requests.post(
        f"{live_server.url}/api/shares/{share['id']}/uploads",
        json=body,
        headers=alice_headers,
        timeout=30,
    )

    assert response.status_code == 400
    assert response.json()["detail"]["field"] == field


def test_start_rejects_file_over_limit(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)

    response = _start(live_server, alice_headers, share["id"], "big.iso", LIMIT + 1)

    assert response.status_code == 413
    assert str(LIMIT) in response.json()["message"]


def test_repeated_names_numbered(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    names = []
    for _ in range(2):
        upload = _start(live_server, alice_headers, share["id"], "scan.pdf", 1).json()
        done = _put(live_server, alice_headers, share["id"], upload["id"], b"x", 0, 1)
        names.append(done.json()["file"]["name"])

    assert names == ["scan.pdf", "scan (1).pdf"]


def test_share_status_lists_files_and_uploads(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    done = _start(live_server, alice_headers, share["id"], "done.txt", 1).json()
    _put(live_server, alice_headers, share["id"], done["id"], b"x", 0, 1)
    _start(live_server, alice_headers, share["id"], "pending.txt", 10)

    response = requests.get(
        f"{live_server.url}/api/shares/{share['id']}", headers=alice_headers, timeout=30
    )

    body = response.json()
    assert response.status_code == 200
    assert "link" not in body
    assert [file["name"] for file in body["files"]] == ["done.txt"]
    assert [(u["name"], u["complete"]) for u in body["uploads"]] == [
        ("done.txt", True),
        ("pending.txt", False),
    ]


def test_delete_removes_file_and_bytes(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 4).json()
    _put(live_server, alice_headers, share["id"], upload["id"], b"abcd", 0, 4)
    partial = _start(live_server, alice_headers, share["id"], "b.bin", 4).json()
    _put(live_server, alice_headers, share["id"], partial["id"], b"ab", 0, 4)
    assert len(_stored_paths(app)) == 2

    first = requests.delete(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        headers=alice_headers,
        timeout=30,
    )
    second = requests.delete(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{partial['id']}",
        headers=alice_headers,
        timeout=30,
    )

    assert first.status_code == 204
    assert second.status_code == 204
    db.session.expire_all()
    assert db.session.get(Share, share["id"]).files == []
    assert db.session.get(Upload, upload["id"]) is None
    assert _stored_paths(app) == []


def test_sent_share_cannot_change(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 1).json()
    _put(live_server, alice_headers, share["id"], upload["id"], b"x", 0, 1)
    row = db.session.get(Share, share["id"])
    make_message(db.session.get(Mailbox, row.owner_mailbox_id), share=row)

    started = _start(live_server, alice_headers, share["id"], "late.bin", 1)
    deleted = requests.delete(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        headers=alice_headers,
        timeout=30,
    )

    assert started.status_code == 409
    assert deleted.status_code == 409
    assert "already sent" in deleted.json()["message"]


@pytest.mark.parametrize("route", ["share", "start", "status", "chunk", "delete"])
def test_other_users_share_not_found(live_server, app, alice_headers, make_user, api_token, route):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 4).json()
    mallory = {"Authorization": f"Bearer {api_token(make_user('mallory@contoso.example'))}"}
    base = f"{live_server.url}/api/shares/{share['id']}"
    upload_url = f"{base}/uploads/{upload['id']}"
    requests_by_route = {
        "share": lambda: requests.get(base, headers=mallory, timeout=30),
        "start": lambda: _start(live_server, mallory, share["id"], "b.bin", 4),
        "status": lambda: requests.get(upload_url, headers=mallory, timeout=30),
        "chunk": lambda: _put(live_server, mallory, share["id"], upload["id"], b"evil", 0, 4),
        "delete": lambda: requests.delete(upload_url, headers=mallory, timeout=30),
    }

    response = requests_by_route[route]()

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    db.session.expire_all()
    assert db.session.get(Upload, upload["id"]) is not None
    status = requests.get(upload_url, headers=alice_headers, timeout=30).json()
    assert status["receivedBytes"] == 0


def test_upload_of_other_share_not_found(live_server, app, alice_headers):
    first = _draft(live_server, alice_headers)
    second = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, first["id"], "a.bin", 4).json()

    response = requests.get(
        f"{live_server.url}/api/shares/{second['id']}/uploads/{upload['id']}",
        headers=alice_headers,
        timeout=30,
    )

    assert response.status_code == 404


def test_routes_need_token(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)

    response = requests.get(f"{live_server.url}/api/shares/{share['id']}", timeout=30)

    assert response.status_code == 401


def test_chunked_body_needs_length(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 4).json()

    response = requests.put(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        data=iter([b"ab", b"cd"]),
        headers={**alice_headers, "Content-Range": "bytes 0-3/4"},
        timeout=30,
    )

    assert response.status_code == 400
    assert "Content-Length: 4" in response.json()["message"]


def _link_message(share_id: str) -> None:
    share = db.session.get(Share, share_id)
    make_message(db.session.get(Mailbox, share.owner_mailbox_id), share=share)


def test_chunk_after_send_conflicts(live_server, app, alice_headers):
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "late.bin", 4).json()
    _put(live_server, alice_headers, share["id"], upload["id"], b"ab", 0, 4)
    _link_message(share["id"])

    response = _put(live_server, alice_headers, share["id"], upload["id"], b"cd", 2, 4)

    assert response.status_code == 409
    assert "already sent" in response.json()["message"]
    db.session.expire_all()
    assert db.session.get(Share, share["id"]).files == []
    assert db.session.get(Upload, upload["id"]).file_id is None


def test_concurrent_same_names_all_complete(live_server, app, alice_headers):
    # Outlook names every pasted picture image.png, and the uploads may finish together.
    count = 6
    data = secrets.token_bytes(100_000)
    share = _draft(live_server, alice_headers)
    uploads = [
        _start(live_server, alice_headers, share["id"], "image.png", len(data)).json()
        for _ in range(count)
    ]
    for upload in uploads:
        _put(live_server, alice_headers, share["id"], upload["id"], data[:50_000], 0, len(data))
    barrier = threading.Barrier(count)
    responses: dict[int, requests.Response] = {}

    def finish(upload_id: int) -> None:
        barrier.wait()
        responses[upload_id] = _put(
            live_server, alice_headers, share["id"], upload_id, data[50_000:], 50_000, len(data)
        )

    threads = [threading.Thread(target=finish, args=(upload["id"],)) for upload in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [200] * count, [r.text for r in responses.values()]
    names = sorted(response.json()["file"]["name"] for response in responses.values())
    assert names == ["image (1).png", "image (2).png", "image (3).png", "image (4).png",
                     "image (5).png", "image.png"]  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    assert {response.json()["file"]["sha256"] for response in responses.values()} == {digest}


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_upload_id_out_of_range_rejected(live_server, app, alice_headers, method):
    # An id past the database's integer range names no upload; it once reached the database.
    share = _draft(live_server, alice_headers)

    response = requests.request(
        method,
        f"{live_server.url}/api/shares/{share['id']}/uploads/99999999999999999999999",
        data=b"x",
        headers={**alice_headers, "Content-Range": "bytes 0-0/1"},
        timeout=30,
    )

    assert response.status_code == 404


def test_remove_downloaded_file_conflicts(live_server, app, alice_headers):
    # A draft share's link works before the message is sent, so its files can be downloaded.
    share = _draft(live_server, alice_headers, verification="none")
    upload = _start(live_server, alice_headers, share["id"], "a.txt", 3).json()
    file_id = _put(live_server, alice_headers, share["id"], upload["id"], b"abc", 0, 3).json()[
        "file"
    ]["id"]
    portal = requests.Session()
    page = portal.get(share["link"], timeout=30)
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    download = portal.post(
        f"{share['link']}/files/{file_id}", data={"csrf_token": csrf_token}, timeout=30
    )
    assert download.content == b"abc"

    response = requests.delete(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        headers=alice_headers,
        timeout=30,
    )

    assert response.status_code == 409
    assert "'a.txt'" in response.json()["message"]
    db.session.expire_all()
    assert db.session.get(File, file_id) is not None
    assert db.session.get(Upload, upload["id"]) is not None


def test_start_rejects_file_over_count(live_server, app, alice_headers):
    settings = app.extensions["mailgrip.settings"]
    app.extensions["mailgrip.settings"] = Settings({**settings.values, "max_files_per_share": 2})
    share = _draft(live_server, alice_headers)
    try:
        started = [_start(live_server, alice_headers, share["id"], "a.bin", 1) for _ in range(3)]
    finally:
        app.extensions["mailgrip.settings"] = settings

    assert [response.status_code for response in started] == [201, 201, 409]
    assert "2 files" in started[2].json()["message"]
    assert started[2].json()["detail"]["limit"] == 2


@pytest.mark.parametrize("size", [200_000, 300_000])
def test_delete_during_chunk_not_found(live_server, app, alice_headers, size):
    # The chunk is the last one of a 200 kB file, or the first of a 300 kB one.
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", size).json()
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.putrequest("PUT", f"/api/shares/{share['id']}/uploads/{upload['id']}")
    connection.putheader("Authorization", alice_headers["Authorization"])
    connection.putheader("Content-Range", f"bytes 0-199999/{size}")
    connection.putheader("Content-Length", "200000")
    connection.endheaders()
    connection.send(b"x" * 100_000)
    time.sleep(0.5)  # lets the server start appending before the removal; not a timing check

    deleted = requests.delete(
        f"{live_server.url}/api/shares/{share['id']}/uploads/{upload['id']}",
        headers=alice_headers,
        timeout=30,
    )
    connection.send(b"x" * 100_000)
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()

    assert deleted.status_code == 204
    assert response.status == 404
    assert f"Upload {upload['id']} was removed" in body["message"]
    db.session.expire_all()
    assert db.session.get(Share, share["id"]).files == []
    assert _stored_paths(app) == []


@pytest.mark.parametrize("route", ["draft", "start", "block"])
def test_large_json_body_rejected(live_server, app, alice_headers, route):
    # Each of these bodies has a few short fields; a large one would be read whole into memory.
    share = _draft(live_server, alice_headers)
    mailbox = db.session.get(Share, share["id"]).owner
    message = make_message(mailbox)
    paths = {
        "draft": "/api/shares",
        "start": f"/api/shares/{share['id']}/uploads",
        "block": f"/api/messages/{message.id}/blocks",
    }
    body = {"draft": True, "name": "a.txt", "size": 1, "scope": "all", "padding": "x" * 100_000}

    response = requests.post(
        f"{live_server.url}{paths[route]}", json=body, headers=alice_headers, timeout=30
    )

    assert response.status_code == 413
    assert "65536 bytes" in response.json()["message"]
    assert response.json()["detail"]["limit"] == 65536


def test_completion_rolls_back_whole(live_server, app, alice_headers):
    # The request that completes an upload can still fail after naming the file. Its rollback
    # must then take the new file row with it, on SQLite too.
    share = _draft(live_server, alice_headers)
    upload = _start(live_server, alice_headers, share["id"], "a.bin", 4).json()
    _put(live_server, alice_headers, share["id"], upload["id"], b"ab", 0, 4)
    row = db.session.get(Upload, upload["id"])
    chunk = parse_content_range("bytes 2-3/4", row)

    receive_chunk(row, chunk, 2, io.BytesIO(b"cd"), current_storage(), LIMIT)
    db.session.rollback()

    files = db.session.scalar(sa.select(sa.func.count()).select_from(File))
    assert files == 0
    assert db.session.get(Upload, upload["id"]).file_id is None
