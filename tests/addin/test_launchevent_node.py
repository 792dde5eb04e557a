"""The add-in's launch-event code, run by Node's test runner against this live Mailgrip.

The JavaScript tests (addin/test/) mock only Outlook's item with office-addin-mock, because
Outlook cannot run here. Every upload and share goes to the real server started below.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ADDIN = Path(__file__).resolve().parents[2] / "addin"


@pytest.fixture(scope="module")
def node() -> str:
    """The path of ``node``, after installing the add-in's dev dependencies when missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed for the add-in's tests; install them")
    if not (ADDIN / "node_modules" / "office-addin-mock").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ADDIN, check=True, timeout=600)
    return node


def test_launch_events_in_node(node, live_server, app, alice, api_token):
    environment = {
        **os.environ,
        "MAILGRIP_URL": live_server.url,
        "MAILGRIP_TOKEN": api_token(alice),
    }

    result = subprocess.run(
        [node, "--test", "test/"],
        cwd=ADDIN,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    assert "# skipped 0" in result.stdout
    assert "# tests 0" not in result.stdout
