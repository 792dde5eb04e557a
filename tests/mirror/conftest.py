"""Fixtures for mirror tests that need background jobs: a consumer running in threads."""

from __future__ import annotations

import pytest

from mailgrip.worker.consumer import start_consumer


@pytest.fixture
def consumer(live_server):
    """Consumer threads working on the live server's job queue until the test ends."""
    running = start_consumer(live_server.app, workers=8)
    yield live_server.app.extensions["mailgrip.queue"]
    running.stop(graceful=True)
