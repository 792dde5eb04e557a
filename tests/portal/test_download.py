"""Downloads from the portal: POST with CSRF, the access decision, Range, and a block mid-stream."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time

import pytest
import requests
import sqlalchemy as sa
from builders import expired, make_share
from portal_helpers import CSRF_FIELD, audit_actions, csrf_token, events
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection

from mailgrip.access.models import Block
from mailgrip.audit import AuditRecord
from mailgrip.db import db
from mailgrip.shares.storage import current_storage
from mailgrip.web.downloads import content_disposition

BOB = "bob@fabrikam.example"
DATA = bytes(range(256)) * 4  # 1024 bytes with a recognisable pattern
SIZE = len(DATA)


def _download(client, built, file, headers: dict[str, str] | None = None):
    # The token belongs to the session; the code-entry page always has a form and records nothing.
    token = csrf_token(client, f"{built.path}/verify")
    response = client.post(
        f"{built.path}/files/{file.id}", data={"csrf_token": token}, headers=headers or {}
    )
    # The test client reads only the first chunk by itself; read the rest as a browser would.
    response.get_data()
    return response


def _verify_as(client, built, address: str = BOB) -> None:
    with client.session_transaction() as session:
        session["verified"] = {built.share.id: built.recipient(address).id}


def test_download_sends_file(client, sender):
    built = make_share(sender, [("report.pdf", DATA, "application/pdf")], verification="none")
    (file,) = built.files

    response = _download(client, built, file)

    assert response.status_code == 200
    assert response.data == DATA
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    (downloaded,) = events("downloaded")
    assert downloaded.file_id == file.id
    assert downloaded.detail == {}
    assert audit_actions() == ["download"]


def test_verified_download_names_recipient(client, sender):
    built = make_share(sender)
    _verify_as(client, built)

    response = _download(client, built, built.files[0])

    assert response.status_code == 200
    assert [e.recipient_id for e in events("downloaded")] == [built.recipient(BOB).id]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_download_needs_post(client, sender, method):
    built = make_share(sender, verification="none")

    response = client.open(f"{built.path}/files/{built.files[0].id}", method=method)

    assert response.status_code == 405
    assert events() == []


def test_download_needs_csrf_token(client, sender):
    built = make_share(sender, verification="none")
    client.get(built.path)

    response = client.post(f"{built.path}/files/{built.files[0].id}", data={})

    assert response.status_code == 400
    assert events("downloaded") == []


def test_unverified_download_refused(client, sender):
    built = make_share(sender)

    response = _download(client, built, built.files[0])

    assert response.status_code == 403
    assert "Confirm your email address" in response.get_data(as_text=True)
    assert [e.detail for e in events("download_denied")] == [{"reason": "not_verified"}]
    assert audit_actions() == ["download_denied"]


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("all", "The sender has blocked access to these files."),
        ("file", "The sender has blocked access to this file."),
        ("recipient", "The sender has blocked your access to these files."),
    ],
)
def test_blocked_download_refused(client, sender, scope, message):
    built = make_share(sender)
    _verify_as(client, built)
    block = Block(share_id=built.share.id, scope=scope, created_by=sender.address)
    if scope == "file":
        block.file_id = built.files[0].id
    if scope == "recipient":
        block.recipient_id = built.recipient(BOB).id
    db.session.add(block)
    db.session.commit()

    response = _download(client, built, built.files[0])

    assert response.status_code == 403
    assert message in response.get_data(as_text=True)
    assert [e.detail for e in events("download_denied")] == [{"reason": f"blocked_{scope}"}]
    assert audit_actions() == ["download_denied"]


def test_expired_download_refused(client, sender):
    built = make_share(sender, verification="none", expires_at=expired())

    response = _download(client, built, built.files[0])

    assert response.status_code == 403
    assert "This link has expired" in response.get_data(as_text=True)


def test_lifted_block_allows_download(client, sender):
    built = make_share(sender, verification="none")
    db.session.add(
        Block(
            share_id=built.share.id,
            scope="all",
            created_by=sender.address,
            lifted_by=sender.address,
            lifted_at=expired(),
        )
    )
    db.session.commit()

    assert _download(client, built, built.files[0]).status_code == 200


def test_missing_stored_file_gets_410(client, sender, caplog):
    built = make_share(sender, [("report.pdf", DATA, "application/pdf")], verification="none")
    (file,) = built.files
    current_storage().delete(file.storage_key)

    with caplog.at_level(logging.ERROR, logger="mailgrip.web.downloads"):
        response = _download(client, built, file)

    assert response.status_code == 410
    assert "This file is no longer available. Ask the sender to send it again." in (
        response.get_data(as_text=True)
    )
    assert [e.detail for e in events("download_denied")] == [{"reason": "missing"}]
    assert [e.file_id for e in events("download_denied")] == [file.id]
    assert audit_actions() == ["download_denied"]
    (logged,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f"file {file.id}" in logged.getMessage()
    assert built.share.id in logged.getMessage()


def test_unknown_file_404(client, sender):
    built = make_share(sender, verification="none")
    other = make_share(sender, {"other.txt": b"other"}, verification="none")

    missing = _download(client, built, type("Missing", (), {"id": 999_999})())
    foreign = _download(client, built, other.files[0])

    assert missing.status_code == 404
    assert foreign.status_code == 404
    assert events("download_denied") == []


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=900-", 900, SIZE - 1),
        ("bytes=-10", SIZE - 10, SIZE - 1),
        ("bytes=1000-5000", 1000, SIZE - 1),
        ("bytes=-5000", 0, SIZE - 1),
        ("Bytes = 5-5", 5, 5),
    ],
)
def test_range_gets_206(client, sender, header, start, end):
    built = make_share(sender, {"data.bin": DATA}, verification="none")

    response = _download(client, built, built.files[0], {"Range": header})

    assert response.status_code == 206
    assert response.data == DATA[start : end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert len(events("downloaded")) == (1 if end == SIZE - 1 else 0)
    (audited,) = db.session.scalars(sa.select(AuditRecord))
    assert audited.action == "download"
    assert audited.detail["range"] == f"bytes {start}-{end}/{SIZE}"
    assert audited.detail["bytes"] == end - start + 1


def test_ranges_covering_file_count_once(client, sender):
    built = make_share(sender, {"data.bin": DATA}, verification="none")
    (file,) = built.files
    ranges = [(0, 255), (256, 511), (512, 767), (768, SIZE - 1)]

    parts = [_download(client, built, file, {"Range": f"bytes={a}-{b}"}) for a, b in ranges]

    assert [part.status_code for part in parts] == [206] * 4
    assert b"".join(part.data for part in parts) == DATA
    (downloaded,) = events("downloaded")
    assert downloaded.detail == {"range": f"bytes 768-{SIZE - 1}/{SIZE}"}
    assert audit_actions() == ["download"] * 4


def test_first_byte_probe_not_a_download(client, sender):
    built = make_share(sender, {"data.bin": DATA}, verification="none")

    response = _download(client, built, built.files[0], {"Range": "bytes=0-0"})

    assert response.status_code == 206
    assert response.data == DATA[:1]
    assert events("downloaded") == []
    assert audit_actions() == ["download"]


@pytest.mark.parametrize("file_id", ["2147483648", "99999999999999999999999", "0", "-1"])
def test_file_id_out_of_range_404(client, sender, file_id):
    built = make_share(sender, verification="none")
    token = csrf_token(client, built.path)

    response = client.post(f"{built.path}/files/{file_id}", data={"csrf_token": token})

    assert response.status_code == 404
    assert events("download_denied") == []


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_range_gets_416(client, sender, header):
    built = make_share(sender, {"data.bin": DATA}, verification="none")

    response = _download(client, built, built.files[0], {"Range": header})

    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    assert events("downloaded") == []


@pytest.mark.parametrize(
    "header", ["bytes=abc", "bytes=5-2", "items=0-1", "bytes=0-1,5-6", "bytes=", "bytes=-", "0-1"]
)
def test_malformed_range_gets_whole_file(client, sender, header):
    built = make_share(sender, {"data.bin": DATA}, verification="none")

    response = _download(client, built, built.files[0], {"Range": header})

    assert response.status_code == 200
    assert response.data == DATA
    assert "Content-Range" not in response.headers


def test_if_range_with_other_etag_gets_whole_file(client, sender):
    built = make_share(sender, {"data.bin": DATA}, verification="none")
    etag = f'"{built.files[0].sha256}"'

    matching = _download(client, built, built.files[0], {"Range": "bytes=0-9", "If-Range": etag})
    stale = _download(client, built, built.files[0], {"Range": "bytes=0-9", "If-Range": '"old"'})

    assert matching.status_code == 206
    assert stale.status_code == 200
    assert stale.data == DATA


def test_empty_file_downloads(client, sender):
    built = make_share(sender, {"empty.txt": b""}, verification="none")

    whole = _download(client, built, built.files[0])
    ranged = _download(client, built, built.files[0], {"Range": "bytes=0-"})

    assert whole.status_code == 200
    assert whole.headers["Content-Length"] == "0"
    assert whole.data == b""
    assert ranged.status_code == 416
    assert len(events("downloaded")) == 1


@pytest.mark.parametrize(
    ("stored", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("text/xml", "application/octet-stream"),
        ("text/javascript", "application/octet-stream"),
        ("application/pdf", "application/pdf"),
        ("image/png", "image/png"),
        ("text/plain", "text/plain"),
    ],
)
def test_active_content_served_as_bytes(client, sender, stored, served):
    # Bytes that do not sniff as markup, so only the declared type decides.
    built = make_share(sender, [("page", b"onload=alert(1)", stored)], verification="none")

    response = _download(client, built, built.files[0])

    assert response.headers["Content-Type"] == served


class _SmallReceiveBuffer(HTTPAdapter):
    """Connections whose receive buffer is fixed at 64 KiB.

    Setting SO_RCVBUF turns off Linux's receive autotuning, so what can be in flight is
    bounded by the server's send buffer (net.ipv4.tcp_wmem, 4 MiB at most by default).
    """

    def init_poolmanager(self, *args, **kwargs):
        kwargs["socket_options"] = [
            *HTTPConnection.default_socket_options,
            (socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024),
        ]
        super().init_poolmanager(*args, **kwargs)


def test_block_stops_running_download(live_server, app, sender):
    # Far more than can be in flight, so the server is still streaming when the block arrives.
    size = 32 * 1024 * 1024
    built = make_share(sender, {"big.bin": os.urandom(size)}, verification="none")
    (file,) = built.files
    browser = requests.Session()
    browser.mount("http://", _SmallReceiveBuffer())
    token = CSRF_FIELD.search(browser.get(built.link, timeout=30).text).group(1)

    response = browser.post(
        f"{built.link}/files/{file.id}", data={"csrf_token": token}, stream=True, timeout=30
    )
    chunks = response.iter_content(64 * 1024)
    received = len(next(chunks))
    db.session.add(
        Block(share_id=built.share.id, scope="file", file_id=file.id, created_by=sender.address)
    )
    db.session.commit()
    try:
        for chunk in chunks:
            received += len(chunk)
    except requests.exceptions.ChunkedEncodingError:
        pass  # the body ended before its Content-Length, as it should

    denied = []
    for _ in range(50):
        denied = events("download_denied")
        if denied:
            break
        time.sleep(0.1)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(size)
    assert received < size
    assert len(denied) == 1
    assert denied[0].detail["interrupted"] is True
    assert denied[0].detail["reason"] == "blocked_file"
    assert denied[0].detail["bytes_sent"] == received
    assert events("downloaded") == []
    assert audit_actions() == ["download_denied"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        (
            'say "hi".txt',
            "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt",
        ),
        (
            "back\\slash.txt",
            "attachment; filename=\"back_slash.txt\"; filename*=UTF-8''back%5Cslash.txt",
        ),
        ("100%.txt", "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt"),
        (
            "报告 2024 – Müller.pdf",
            'attachment; filename="__ 2024 _ Muller.pdf"; '
            "filename*=UTF-8''%E6%8A%A5%E5%91%8A%202024%20%E2%80%93%20M%C3%BCller.pdf",
        ),
        ("報", "attachment; filename=\"_\"; filename*=UTF-8''%E5%A0%B1"),
    ],
)
def test_content_disposition_table(name, expected):
    assert content_disposition(name) == expected


def test_download_recorded_before_last_chunk(app, client, sender, monkeypatch):
    data = os.urandom(3 * 64 * 1024 + 17)  # four chunks
    built = make_share(
        sender, [("large.bin", data, "application/octet-stream")], verification="none"
    )
    (file,) = built.files
    counts_before_last_chunk: list[int] = []
    inner = app.wsgi_app

    # Watches the response between Mailgrip and the server: when the final chunk comes out of
    # the application, the `downloaded` event must already be committed, because a client
    # holding every byte may ask the task pane at once.
    def watching(environ, start_response):
        sent = 0
        for chunk in inner(environ, start_response):
            sent += len(chunk)
            if environ["PATH_INFO"].endswith(f"/files/{file.id}") and sent == len(data):
                with app.app_context():
                    counts_before_last_chunk.append(len(events("downloaded")))
            yield chunk

    monkeypatch.setattr(app, "wsgi_app", watching)
    response = _download(client, built, file)

    assert response.data == data
    assert counts_before_last_chunk == [1]
