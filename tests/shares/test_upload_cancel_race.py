"""Removing an upload while its last chunk completes it: one of the two wins, wholly.

Each test orders two real HTTP requests to the live server with events. A wrapper around a
function of the request path signals that one request reached that point, and the request
waits there until the test releases it. So the interleaving is fixed instead of left to timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import flask
import requests
from upload_helpers import draft_share, put_chunk, start_upload, stored_paths

from mailgrip.db import db
from mailgrip.shares.models import File, Share, Upload
from mailgrip.shares.storage import FileSystemStorage
from mailgrip.web.api import uploads as upload_views

WAIT_SECONDS = 30


class Pause:
    """Holds the requests of one HTTP method after a wrapped function returns, until released."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.reached = threading.Event()
        self.release = threading.Event()

    def wrap(self, function: Callable) -> Callable:
        def paused(*args, **kwargs):
            result = function(*args, **kwargs)
            if flask.request.method == self.method:
                self.reached.set()
                assert self.release.wait(WAIT_SECONDS), "the test never released the request"
            return result

        return paused


def _in_thread(call: Callable[[], requests.Response]) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("response", call()))
    thread.start()
    return thread, result


def _delete(live_server, headers, share_id: str, upload_id: int) -> requests.Response:
    return requests.delete(
        f"{live_server.url}/api/shares/{share_id}/uploads/{upload_id}", headers=headers, timeout=60
    )


def _half_sent_upload(live_server, headers) -> tuple[dict, dict]:
    share = draft_share(live_server, headers)
    upload = start_upload(live_server, headers, share["id"], "a.bin", 4).json()
    assert (
        put_chunk(live_server, headers, share["id"], upload["id"], b"ab", 0, 4).status_code == 200
    )
    return share, upload


def _assert_nothing_left(app, share_id: str) -> None:
    db.session.expire_all()
    assert db.session.get(Share, share_id).files == []
    assert db.session.query(Upload).count() == 0
    assert db.session.query(File).count() == 0
    assert stored_paths(app) == []


def test_completion_after_removal_read(live_server, app, alice_headers, monkeypatch):
    # The removal reads the upload as incomplete, then the last chunk completes and commits
    # it, and only then does the removal write. It must remove the new file with the upload.
    share, upload = _half_sent_upload(live_server, alice_headers)
    pause = Pause("DELETE")
    monkeypatch.setattr(upload_views, "owned_upload", pause.wrap(upload_views.owned_upload))

    thread, removal = _in_thread(
        lambda: _delete(live_server, alice_headers, share["id"], upload["id"])
    )
    assert pause.reached.wait(WAIT_SECONDS)
    last = put_chunk(live_server, alice_headers, share["id"], upload["id"], b"cd", 2, 4)
    pause.release.set()
    thread.join(WAIT_SECONDS)

    assert last.status_code == 200
    assert last.json()["complete"] is True
    assert removal["response"].status_code == 204
    _assert_nothing_left(app, share["id"])


def test_removal_before_completion(live_server, app, alice_headers, monkeypatch):
    # The last chunk's bytes are stored, then the removal commits before the chunk request
    # turns them into a file. The chunk must fail and leave no file and no bytes.
    share, upload = _half_sent_upload(live_server, alice_headers)
    pause = Pause("PUT")
    monkeypatch.setattr(
        FileSystemStorage, "append_partial", pause.wrap(FileSystemStorage.append_partial)
    )

    thread, last = _in_thread(
        lambda: put_chunk(live_server, alice_headers, share["id"], upload["id"], b"cd", 2, 4)
    )
    assert pause.reached.wait(WAIT_SECONDS)
    removal = _delete(live_server, alice_headers, share["id"], upload["id"])
    pause.release.set()
    thread.join(WAIT_SECONDS)

    assert removal.status_code == 204
    assert last["response"].status_code == 404
    assert f"Upload {upload['id']} was removed" in last["response"].json()["message"]
    _assert_nothing_left(app, share["id"])
