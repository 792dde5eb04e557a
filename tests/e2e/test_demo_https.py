"""`mailgrip demo --https`: the demo on https://localhost with the `dev-certs` certificates."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from mailgrip.devcerts import DevCertificates, create_dev_certificates

STARTUP_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_until_ready(process: subprocess.Popen) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "Press Ctrl-C to stop." in line:
            return "\n".join(lines)
    raise AssertionError("the demo did not start:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen, signum: int = signal.SIGINT) -> str:
    """Stop the demo with ``signum`` and return what it printed since; kill it if it hangs."""
    process.send_signal(signum)
    try:
        remaining, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        remaining, _ = process.communicate()
        message = f"the demo did not stop within 60 s of signal {signum}:\n{remaining}"
        raise AssertionError(message) from None
    return remaining


def _demo_command(port: int, certs: Path) -> list[str]:
    return [sys.executable, "-m", "mailgrip.cli", "demo", "--https", "--port", str(port)] + [
        "--certs",
        str(certs),
    ]


def test_https_demo_serves_with_dev_ca(tmp_path: Path):
    certs = create_dev_certificates(tmp_path / "certs")
    port = _free_port()
    environ = {
        **os.environ,
        "MAILGRIP_INSTANCE_PATH": str(tmp_path / "instance"),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        _demo_command(port, certs.folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
    )
    try:
        output = _read_until_ready(process)
        base = f"https://localhost:{port}"
        portal_link = next(u for u in re.findall(r"https://\S+", output) if "/s/" in u)

        taskpane = requests.get(f"{base}/taskpane", verify=str(certs.ca_cert), timeout=10)
        runtime = requests.get(f"{base}/addin/commands.html", verify=str(certs.ca_cert), timeout=10)
        portal = requests.get(portal_link, verify=str(certs.ca_cert), timeout=10)

        assert f"{base}/taskpane" in output
        assert f"mailgrip manifest --base-url {base}" in output
        assert taskpane.status_code == 200
        assert runtime.status_code == 200
        assert portal_link.startswith(f"{base}/s/")
        assert portal.status_code == 200
    finally:
        remaining = _stop(process)

    assert process.returncode == 0, remaining
    # The emulator trusts the dev CA too, so its validation request reaches the webhook.
    assert "subscription failed" not in output + remaining


def test_https_demo_untrusted_without_ca(tmp_path: Path):
    certs = create_dev_certificates(tmp_path / "certs")
    port = _free_port()
    environ = {**os.environ, "MAILGRIP_INSTANCE_PATH": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        _demo_command(port, certs.folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
    )
    try:
        _read_until_ready(process)

        try:
            requests.get(f"https://localhost:{port}/taskpane", timeout=10)
        except requests.exceptions.SSLError as error:
            failure = error
        else:
            failure = None

        assert failure is not None, "a client without the dev CA must not trust the demo"
    finally:
        # SIGTERM, as a service manager stops it, ends the demo as cleanly as Ctrl-C.
        remaining = _stop(process, signal.SIGTERM)

    assert process.returncode == 0, remaining
    assert "Stopped." in remaining


def test_https_demo_needs_certificates(tmp_path: Path):
    environ = {**os.environ, "MAILGRIP_INSTANCE_PATH": str(tmp_path)}

    result = subprocess.run(
        _demo_command(_free_port(), tmp_path / "missing"),
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "mailgrip dev-certs" in result.stderr
    assert str(DevCertificates(tmp_path / "missing").server_cert) in result.stderr
