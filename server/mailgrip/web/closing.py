"""Close every response of an app served by Werkzeug's development server.

Werkzeug 3.1 drains the request socket before it closes a response. When the client has
dropped the connection, that read raises, ``close()`` never runs, and a file that
``send_file`` opened stays open until the garbage collector finds it. The demo and the
tests serve the task pane's libraries through that server, so every aborted fetch leaked a
file. Production runs under gunicorn, which closes responses itself. Gunicorn also sends
files with ``wsgi.file_wrapper``, which this wrapper would hide, so only the development
server uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def closing_responses(app: Any) -> Any:
    """Return a WSGI app that closes ``app``'s response even if the server never does."""

    def wrapped(environ: dict, start_response: Any) -> Iterator[bytes]:
        return _close_after(app(environ, start_response))

    return wrapped


def _close_after(response: Iterable[bytes]) -> Iterator[bytes]:
    # A generator's finally also runs when the generator is discarded unfinished, because
    # discarding it calls its close(); so the response is closed on every path.
    try:
        yield from response
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()
