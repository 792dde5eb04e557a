"""Measure the peak memory of one ``POST /api/shares`` upload in a process of its own.

tracemalloc counts the allocations of every thread in a process. The test process also runs
the emulator, the live server and job consumers, so their allocations would count as the
upload's. Here the upload is the only work, through the Flask test client in this thread.

Reads a JSON object from standard input: ``environ`` (the ``MAILGRIP_*`` variables),
``instance`` (a folder), ``authorization`` (the header value) and ``size`` (of the file, in
bytes). Writes a JSON object: ``status``, ``sha256`` of the stored file, ``expectedSha256``
and ``peak`` (bytes).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import tracemalloc
from pathlib import Path

from mailgrip import create_app
from mailgrip.config import Settings

BOUNDARY = "mailgrip-memory-" + secrets.token_hex(8)
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _body(data: bytes) -> bytes:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="files"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def main() -> None:
    request = json.load(sys.stdin)
    instance = Path(request["instance"])
    app = create_app(Settings.from_env(instance, request["environ"]), instance_path=str(instance))
    client = app.test_client()
    headers = {"Authorization": request["authorization"]}

    # A first, small upload imports modules and fetches the token signing keys, so that the
    # measured upload allocates only what receiving a file takes.
    warm_up = client.post(
        "/api/shares", data=_body(b"x"), content_type=CONTENT_TYPE, headers=headers
    )
    assert warm_up.status_code == 201, warm_up.get_data(as_text=True)

    data = secrets.token_bytes(request["size"])
    body = _body(data)
    tracemalloc.start()
    try:
        response = client.post("/api/shares", data=body, content_type=CONTENT_TYPE, headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    files = (response.get_json(silent=True) or {}).get("files") or [{}]
    json.dump(
        {
            "status": response.status_code,
            "sha256": files[0].get("sha256"),
            "expectedSha256": hashlib.sha256(data).hexdigest(),
            "peak": peak,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
