"""POST /api/shares behind gunicorn, whose request body reader raises its own exceptions."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import mailgrip_environ

from mailgrip.db import db
from mailgrip.shares.models import Share

GUNICORN = Path(sys.executable).with_name("gunicorn")
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode} at startup")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            # A worker still starting times the probe out; its socket must not leak.
            connection.close()
        time.sleep(0.2)
    raise TimeoutError(f"gunicorn did not answer /healthz on port {port} in {STARTUP_SECONDS} s")


@pytest.fixture
def gunicorn_port(app, emulator, database_url, tmp_path) -> Iterator[int]:
    """Mailgrip under gunicorn on a free loopback port, sharing the database of ``app``."""
    if not GUNICORN.exists():
        pytest.fail(f"gunicorn is not installed next to the test interpreter: {GUNICORN}")
    port = _free_port()
    instance = tmp_path / "gunicorn"
    environ = {
        **os.environ,
        **mailgrip_environ(emulator, database_url, instance / "files", f"http://127.0.0.1:{port}"),
        "MAILGRIP_INSTANCE_PATH": str(instance),
    }
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "mailgrip:create_app()"],
            env=environ,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(process, port)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_plain_body_announced_chunked_rejected(gunicorn_port, alice_headers):
    boundary = "mailgrip-test-gunicorn"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        f"{'x' * 1000}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn_port, timeout=30)

    # Chunked encoding is announced without a Content-Length, but the body is sent plain.
    connection.putrequest("POST", "/api/shares", skip_accept_encoding=True)
    for name, value in alice_headers.items():
        connection.putheader(name, value)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(body)
    response = connection.getresponse()
    answer = response.read()
    connection.close()

    db.session.expire_all()
    assert response.status == 400
    assert b"request body could not be read" in answer
    assert b"Invalid chunk size" in answer
    assert db.session.scalar(sa.select(sa.func.count(Share.id))) == 0
