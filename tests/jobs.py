"""Helpers for tests that run background jobs on a real consumer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import requests
import sqlalchemy as sa

from mailgrip.db import db
from mailgrip.mirror.models import Mailbox
from mailgrip.worker.queue import JobQueue

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Call ``condition`` until it returns a true value, and return that value.

    :param what: the awaited event, named in the failure message.
    :raise AssertionError: ``timeout`` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def wait_until_idle(queue: JobQueue, timeout: float = 60.0, settle: float = 0.5) -> None:
    """Wait until no job is queued or scheduled for ``settle`` seconds in a row."""
    quiet_since: float | None = None

    def idle() -> bool:
        nonlocal quiet_since
        if queue.pending():
            quiet_since = None
            return False
        quiet_since = quiet_since or time.monotonic()
        return time.monotonic() - quiet_since >= settle

    wait_for(idle, timeout, "the job queue to become idle")



def subscribed_mailbox(live_server, headers) -> Mailbox:
    """Register the caller's mailbox with an API call and wait for its subscription."""
    response = requests.get(f"{live_server.url}/api/messages", headers=headers, timeout=30)
    assert response.status_code == 200, response.text

    def subscribed() -> Mailbox | None:
        db.session.rollback()  # see the jobs' commits
        mailbox = db.session.scalars(sa.select(Mailbox)).one_or_none()
        return mailbox if mailbox and mailbox.subscription_id else None

    return wait_for(subscribed, what="the mailbox's subscription")
