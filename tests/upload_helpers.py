"""Calls to the resumable-upload API over real HTTP, and a look at the stored bytes."""

from __future__ import annotations

from pathlib import Path

import requests


def draft_share(live_server, headers, **extra) -> dict:
    """Create a draft share of the caller and return its JSON form."""
    response = requests.post(
        f"{live_server.url}/api/shares", json={"draft": True, **extra}, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()


def start_upload(live_server, headers, share_id: str, name: str, size: int, **extra):
    """Start a resumable upload of ``size`` bytes and return the response."""
    return requests.post(
        f"{live_server.url}/api/shares/{share_id}/uploads",
        json={"name": name, "size": size, "contentType": "application/pdf", **extra},
        headers=headers,
        timeout=30,
    )


def put_chunk(
    live_server, headers, share_id: str, upload_id: int, data: bytes, first: int, size: int
):
    """Send ``data`` as the chunk that starts at byte ``first`` of a ``size``-byte file."""
    return requests.put(
        f"{live_server.url}/api/shares/{share_id}/uploads/{upload_id}",
        data=data,
        headers={**headers, "Content-Range": f"bytes {first}-{first + len(data) - 1}/{size}"},
        timeout=30,
    )


def stored_paths(app) -> list[Path]:
    """Return every object in the app's file storage, partial or complete."""
    root = Path(app.extensions["mailgrip.settings"].storage_dir)
    return sorted(path for path in root.rglob("*") if path.is_file())


def one_request_share(live_server, headers, name: str = "a.txt", data: bytes = b"a") -> dict:
    """Create a share with one file in a single multipart request and return its JSON form."""
    response = requests.post(
        f"{live_server.url}/api/shares",
        files=[("files", (name, data, "text/plain"))],
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()
