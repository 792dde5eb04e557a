"""The development server's wrapper closes responses on every path."""

from __future__ import annotations

from mailgrip.web.closing import closing_responses


class _Body:
    """A WSGI response body that records close(), as send_file's file wrapper has one."""

    def __init__(self) -> None:
        self.closed = 0

    def __iter__(self):
        yield b"first"
        yield b"second"

    def close(self) -> None:
        self.closed += 1


def _serve(body: _Body):
    return closing_responses(lambda environ, start_response: body)({}, None)


def test_finished_response_closed_once():
    body = _Body()

    assert b"".join(_serve(body)) == b"firstsecond"
    assert body.closed == 1


def test_abandoned_response_closed():
    # Werkzeug stops iterating without calling close() when the client went away; dropping
    # the last reference is all that happens then.
    body = _Body()
    response = _serve(body)
    next(response)

    del response

    assert body.closed == 1
