"""`mailgrip demo` as a user runs it: a real process, its printed URLs, and Ctrl-C."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from mailgrip.demo.messages import DEMO_MESSAGES

URL = re.compile(r"https?://\S+")
STARTUP_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_until_ready(process: subprocess.Popen) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "Press Ctrl-C to stop." in line:
            return lines
    raise AssertionError("the demo did not start:\n" + "\n".join(lines))


def _demo_environ(instance_path: Path) -> dict[str, str]:
    return {**os.environ, "MAILGRIP_INSTANCE_PATH": str(instance_path), "PYTHONUNBUFFERED": "1"}


def _demo_command(port: int) -> list[str]:
    return [sys.executable, "-m", "mailgrip.cli", "demo", "--port", str(port)]


def test_demo_prints_working_urls(tmp_path: Path):
    port = _free_port()
    environ = _demo_environ(tmp_path)
    command = _demo_command(port)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
    )
    try:
        lines = _read_until_ready(process)
        output = "\n".join(lines)
        taskpane = f"http://127.0.0.1:{port}/taskpane"
        portal_links = [u for u in URL.findall(output) if "/s/" in u]
        password = re.search(r"with password (\S+)", output).group(1)

        assert taskpane in output
        assert len(portal_links) == 2
        assert requests.get(taskpane, timeout=10).status_code == 200
        for link, demo in zip(portal_links, DEMO_MESSAGES, strict=True):
            page = requests.get(link, timeout=10)
            assert page.status_code == 200, link
            for file in demo.files:
                assert html.escape(file.name) in page.text, file.name
        signin = requests.post(
            f"http://127.0.0.1:{port}/taskpane/signin",
            json={"username": "alice@contoso.example", "password": password},
            timeout=30,
        )
        assert signin.status_code == 200
        token = signin.json()["accessToken"]
        listed = requests.get(
            f"http://127.0.0.1:{port}/api/messages",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        assert len(listed["value"]) == 2
        assert all(m["hasShare"] for m in listed["value"])
        # Alice's Sent Items are subscribed to change notifications at the emulator.
        emulator_url = re.search(r"listed as JSON at (https://\S+)/_emulator/outbox", output)
        ca_path = re.search(r"curl --cacert (\S+)", output).group(1)
        subscriptions = requests.get(
            f"{emulator_url.group(1)}/_emulator/subscriptions", verify=ca_path, timeout=10
        ).json()["value"]
        assert [s["expired"] for s in subscriptions] == [False]

        # A second demo on the same port must leave the running one and its files alone.
        second = subprocess.run(
            command, capture_output=True, text=True, env=environ, timeout=60, check=False
        )
        assert second.returncode != 0
        assert f"Port {port} on 127.0.0.1 is not free" in second.stderr
        assert requests.get(portal_links[0], timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=60)

    assert process.returncode == 0, remaining
    assert "Stopped." in remaining


def test_second_demo_in_same_folder_refused(tmp_path: Path):
    port, other_port = _free_port(), _free_port()
    while other_port == port:
        other_port = _free_port()
    environ = _demo_environ(tmp_path)
    process = subprocess.Popen(
        _demo_command(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
    )
    try:
        output = "\n".join(_read_until_ready(process))
        portal_link = next(u for u in URL.findall(output) if "/s/" in u)

        second = subprocess.run(
            _demo_command(other_port),
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
            check=False,
        )

        message = " ".join(second.stderr.split())
        assert second.returncode != 0
        assert f"uses {tmp_path / 'demo'}" in message
        assert f"process {process.pid} serving http://127.0.0.1:{port}" in message
        assert f"MAILGRIP_INSTANCE_PATH={tmp_path}-{other_port}" in message
        assert "Traceback" not in second.stderr
        assert requests.get(portal_link, timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=60)

    assert process.returncode == 0, remaining
