"""POST /api/shares: streaming multipart uploads into storage, limits and hostile names."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests
import sqlalchemy as sa
from conftest import mailgrip_environ
from portal_helpers import CSRF_FIELD, events

from mailgrip.db import db
from mailgrip.shares.models import File, Share
from mailgrip.shares.tokens import hash_token

LIMIT = 8 * 1024 * 1024  # MAILGRIP_MAX_UPLOAD_BYTES in tests/conftest.py
MIB = 1024 * 1024


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """Build a body from ``(Content-Disposition, Content-Type, data)`` parts, byte for byte."""
    boundary = "mailgrip-test-" + secrets.token_hex(8)
    body = b""
    for disposition, content_type, data in parts:
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            body += f"Content-Type: {content_type}\r\n".encode()
        body += b"\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _file_part(name: str, data: bytes = b"data") -> tuple[str, str, bytes]:
    return (f'form-data; name="files"; filename="{name}"', "application/octet-stream", data)


def _stored_files(app) -> list[Path]:
    root = Path(app.extensions["mailgrip.settings"].storage_dir)
    return sorted(path for path in root.rglob("*") if path.is_file())


def _share_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Share.id)))


def _post(live_server, headers, body: bytes, content_type: str) -> requests.Response:
    return requests.post(
        f"{live_server.url}/api/shares",
        data=body,
        headers={**headers, "Content-Type": content_type},
        timeout=60,
    )


def test_upload_creates_share(live_server, app, alice_headers):
    pdf = b"%PDF-1.7 " + secrets.token_bytes(300_000)
    first_jpg, second_jpg = secrets.token_bytes(1000), secrets.token_bytes(2000)

    response = requests.post(
        f"{live_server.url}/api/shares",
        files=[
            ("files", ("report.pdf", pdf, "application/pdf")),
            ("files", ("empty.txt", b"", "text/plain")),
            ("files", ("image.jpg", first_jpg, "image/jpeg")),
            ("files", ("image.jpg", second_jpg, "image/jpeg")),
        ],
        headers=alice_headers,
        timeout=60,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    files = body["files"]
    assert [f["name"] for f in files] == ["report.pdf", "empty.txt", "image.jpg", "image (1).jpg"]
    assert [f["size"] for f in files] == [len(pdf), 0, 1000, 2000]
    assert [f["contentType"] for f in files] == [
        "application/pdf", "text/plain", "image/jpeg", "image/jpeg"
    ]
    assert files[0]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert files[1]["sha256"] == hashlib.sha256(b"").hexdigest()
    assert body["verification"] == "code"
    assert re.fullmatch(re.escape(live_server.url) + r"/s/[A-Za-z0-9_-]{43}", body["link"])
    assert re.fullmatch(
        re.escape(live_server.url) + r"/o/[A-Za-z0-9_-]{43}\.gif", body["openTrackingUrl"]
    )
    assert body["expiresAt"].endswith("Z")
    expires = datetime.fromisoformat(body["expiresAt"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)

    share = db.session.get(Share, body["id"])
    assert share.owner.address == "alice@contoso.example"
    assert share.link_token_hash == hash_token(body["link"].rsplit("/", 1)[1])
    assert share.open_token_hash == hash_token(body["openTrackingUrl"][:-4].rsplit("/", 1)[1])
    stored = {path.name: path.read_bytes() for path in _stored_files(app)}
    assert [stored[file.storage_key] for file in share.files] == [pdf, b"", first_jpg, second_jpg]


def test_uploaded_share_links_work(live_server, app, alice_headers):
    created = requests.post(
        f"{live_server.url}/api/shares",
        files=[("files", ("a.txt", b"a", "text/plain"))],
        headers=alice_headers,
        timeout=60,
    ).json()

    page = requests.get(created["link"], timeout=30)
    image = requests.get(created["openTrackingUrl"], timeout=30)

    assert page.status_code == 200
    assert "a.txt" in page.text
    assert image.headers["Content-Type"] == "image/gif"
    assert [event.kind for event in events()] == ["link_opened", "opened"]


def test_upload_streams_to_storage(
    live_server, app, alice_headers, emulator, database_url, tmp_path
):
    # The upload runs in a process of its own, so that tracemalloc counts only its
    # allocations and not those of this process's other threads.
    storage_dir = Path(app.extensions["mailgrip.settings"].storage_dir)
    request = {
        "environ": mailgrip_environ(emulator, database_url, storage_dir, live_server.url),
        "instance": str(tmp_path),
        "authorization": alice_headers["Authorization"],
        "size": 6 * MIB,
    }

    measured = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("measure_upload_memory.py"))],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert measured.returncode == 0, measured.stderr
    result = json.loads(measured.stdout)
    assert result["status"] == 201
    assert result["sha256"] == result["expectedSha256"]
    # Holding the file would need at least 6 MiB more than the request body itself.
    assert result["peak"] < 3 * MIB


def test_verification_none_accepted(live_server, app, alice_headers):
    body, content_type = _multipart(
        [("form-data; name=\"verification\"", None, b"none"), _file_part("a.txt")]
    )

    response = _post(live_server, alice_headers, body, content_type)

    assert response.status_code == 201
    assert response.json()["verification"] == "none"


def test_unknown_verification_rejected(live_server, app, alice_headers):
    body, content_type = _multipart(
        [_file_part("a.txt"), ("form-data; name=\"verification\"", None, b"maybe")]
    )

    response = _post(live_server, alice_headers, body, content_type)

    assert response.status_code == 400
    assert "'maybe'" in response.json()["message"]
    assert _share_count() == 0
    assert _stored_files(app) == []


def test_zero_files_rejected(live_server, app, alice_headers):
    body, content_type = _multipart([("form-data; name=\"verification\"", None, b"code")])

    response = _post(live_server, alice_headers, body, content_type)

    assert response.status_code == 400
    assert "at least one file" in response.json()["message"]
    assert _share_count() == 0


def test_too_large_by_content_length(live_server, app, alice_headers):
    _, content_type = _multipart([])
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)

    # The body is never sent: the server must respond from the announced length alone.
    connection.putrequest("POST", "/api/shares")
    for name, value in {**alice_headers, "Content-Type": content_type}.items():
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(LIMIT + 1))
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert response.status == 413
    assert b'"error":"payload_too_large"' in body.replace(b" ", b"")
    assert b"the limit is 8388608 bytes (8 MiB)" in body
    assert _share_count() == 0
    assert _stored_files(app) == []


def test_too_large_by_chunked_body(live_server, app, alice_headers):
    boundary = "mailgrip-test-chunked"

    def body():
        yield (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            "filename=\"huge.bin\"\r\n\r\n"
        ).encode()
        for _ in range(9 * 16):  # 9 MiB in 64 KiB pieces
            yield b"\0" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = requests.post(
        f"{live_server.url}/api/shares",
        data=body(),
        headers={**alice_headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert "the limit is 8388608 bytes (8 MiB)" in response.json()["message"]
    assert _share_count() == 0
    assert _stored_files(app) == []


def test_chunked_body_within_limit(live_server, app, alice_headers):
    body, content_type = _multipart([_file_part("a.txt", b"x" * 200_000)])

    response = requests.post(
        f"{live_server.url}/api/shares",
        data=(body[i : i + 10_000] for i in range(0, len(body), 10_000)),
        headers={**alice_headers, "Content-Type": content_type},
        timeout=60,
    )

    assert response.status_code == 201
    assert response.json()["files"][0]["size"] == 200_000


def test_upload_needs_token(live_server, app):
    body, content_type = _multipart([_file_part("a.txt")])

    response = _post(live_server, {}, body, content_type)

    assert response.status_code == 401
    assert _stored_files(app) == []


def test_json_body_rejected(live_server, app, alice_headers):
    response = requests.post(
        f"{live_server.url}/api/shares", json={"files": []}, headers=alice_headers, timeout=30
    )

    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["message"]


def test_truncated_body_rejected(live_server, app, alice_headers):
    body, content_type = _multipart([_file_part("a.txt", b"x" * 100_000)])

    response = _post(live_server, alice_headers, body[: len(body) // 2], content_type)

    assert response.status_code == 400
    message = response.json()["message"]
    assert "The request body is not valid multipart/form-data" in message
    assert "it ends inside multipart part 1, before the closing boundary line" in message
    assert "State." not in message
    assert _share_count() == 0
    assert _stored_files(app) == []


def test_long_part_header_rejected(live_server, app, alice_headers):
    body, content_type = _multipart([_file_part("a" * 200_000 + ".txt")])

    response = _post(live_server, alice_headers, body, content_type)

    assert response.status_code == 400
    assert "part header is longer than 65536 bytes" in response.json()["message"]
    assert _stored_files(app) == []


def test_malformed_chunked_body_rejected(live_server, app, alice_headers):
    body, content_type = _multipart([_file_part("a.txt", b"x" * 1000)])
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)

    # Both framings are announced, but the body is sent plain, without chunk headers.
    connection.putrequest("POST", "/api/shares")
    for name, value in {**alice_headers, "Content-Type": content_type}.items():
        connection.putheader(name, value)
    connection.putheader("Transfer-Encoding", "chunked")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders()
    connection.send(body)
    response = connection.getresponse()
    answer = response.read()
    connection.close()

    assert response.status == 400
    assert b"request body could not be read" in answer
    assert _share_count() == 0
    assert _stored_files(app) == []


def test_non_utf8_file_name_rejected(live_server, app, alice_headers):
    body, content_type = _multipart(
        [_file_part("first.txt"), ('form-data; name="files"; filename="caf\xe9.txt"', None, b"x")]
    )
    body = body.replace("caf\xe9".encode(), b"caf\xff")

    response = _post(live_server, alice_headers, body, content_type)

    assert response.status_code == 400
    message = response.json()["message"]
    assert "part 2" in message
    assert "not valid UTF-8" in message
    assert "codec" not in message
    assert _share_count() == 0
    assert _stored_files(app) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b'Content-Disposition: form-data; name="fil\xffes"; filename="a.txt"',
         "The 'name' parameter of the Content-Disposition header in multipart part 2 is not "
         "valid UTF-8."),
        (b"Content-Type: text/pl\xffain",
         "The Content-Type header in multipart part 2 is not valid UTF-8."),
    ],
)
def test_non_utf8_part_header_named(live_server, app, alice_headers, header, expected):
    first, content_type = _multipart([_file_part("first.txt")])
    boundary = content_type.rpartition("=")[2].encode()
    disposition = b'Content-Disposition: form-data; name="files"; filename="b.txt"'
    lines = [disposition, header] if header.startswith(b"Content-Type") else [header]
    second = b"--" + boundary + b"\r\n" + b"\r\n".join(lines) + b"\r\n\r\nx\r\n"
    body = first.replace(b"--" + boundary + b"--\r\n", second + b"--" + boundary + b"--\r\n")

    response = _post(live_server, alice_headers, body, content_type)

    assert response.status_code == 400
    message = response.json()["message"]
    assert expected in message
    assert "file name" not in message
    assert _share_count() == 0
    assert _stored_files(app) == []


def test_missing_boundary_line_rejected(live_server, app, alice_headers):
    body, content_type = _multipart([_file_part("a.txt")])

    response = _post(live_server, alice_headers, body, content_type + "-other")

    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("The request body is not valid multipart/form-data, because it "
                              "does not contain the boundary line")
    assert "one part named 'files' per file." in message
    assert "State.PREAMBLE" not in message
    assert _share_count() == 0
    assert _stored_files(app) == []


DISPOSITION = re.compile(r"attachment; filename=\"([^\"]*)\"; filename\*=UTF-8''(\S+)")
HOSTILE_NAMES = [
    ('filename="../../etc/passwd"', "passwd"),
    ('filename="C:\\Windows\\win.ini"', "win.ini"),
    ("filename*=UTF-8''nul%00byte.txt", "nulbyte.txt"),
    ('filename=".."', "file"),
    ('filename=""', "file"),
    ('filename="报告 2024 – Müller.pdf"', "报告 2024 – Müller.pdf"),
    ('filename="Mu\u0308ller.pdf"', "M\u00fcller.pdf"),
    ('filename="line%0D%0Abreak.txt"', "linebreak.txt"),
    ("filename*=UTF-8''crlf%0D%0Aheader.txt", "crlfheader.txt"),
    ('filename="say %22hi%22.txt"', 'say "hi".txt'),
]


@pytest.mark.parametrize(("parameter", "expected"), HOSTILE_NAMES)
def test_hostile_name_stored_and_served_safely(
    live_server, app, alice_headers, parameter, expected
):
    data = secrets.token_bytes(64)
    body, content_type = _multipart(
        [
            (f'form-data; name="files"; {parameter}', "text/plain", data),
            ('form-data; name="verification"', None, b"none"),
        ]
    )

    created = _post(live_server, alice_headers, body, content_type)
    assert created.status_code == 201, created.text
    (described,) = created.json()["files"]
    file = db.session.get(File, described["id"])
    browser = requests.Session()
    page = browser.get(created.json()["link"], timeout=30)
    download = browser.post(
        f"{created.json()['link']}/files/{file.id}",
        data={"csrf_token": CSRF_FIELD.search(page.text).group(1)},
        timeout=30,
    )
    disposition = download.headers["Content-Disposition"]
    fallback = re.fullmatch(DISPOSITION, disposition)

    assert described["name"] == expected
    assert re.fullmatch(r"[0-9a-f]{32}", file.storage_key)
    assert [path.name for path in _stored_files(app)] == [file.storage_key]
    assert download.content == data
    assert fallback is not None, disposition
    assert re.fullmatch(r"[ -~]*", fallback.group(1))
    assert "\\" not in fallback.group(1)
    assert unquote(fallback.group(2)) == expected
