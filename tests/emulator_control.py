"""Calls to the emulator's control surface that several test modules share."""

from __future__ import annotations

import requests


def post_message(emulator, user: str, action: str, raw: bytes) -> dict:
    """File a raw RFC 5322 message for ``user``: ``action`` is sent-items or send-from-outlook."""
    response = requests.post(
        f"{emulator.base_url}/_emulator/mailboxes/{user}/{action}",
        data=raw,
        headers={"Content-Type": "message/rfc822"},
        verify=str(emulator.ca_path),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def control(emulator, method: str, path: str, **kwargs) -> requests.Response:
    """Call ``/_emulator/<path>`` and fail the test on an error status."""
    response = requests.request(
        method,
        f"{emulator.base_url}/_emulator/{path}",
        verify=str(emulator.ca_path),
        timeout=30,
        **kwargs,
    )
    assert response.status_code < 400, response.text
    return response
