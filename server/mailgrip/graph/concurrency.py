"""A limit on concurrent Graph requests per mailbox, shared by every thread of a process."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Exchange Online allows 4 concurrent requests per app per mailbox and throttles beyond
# that with 429 (Microsoft Graph throttling limits, Outlook service).
MAX_CONCURRENT_PER_MAILBOX = 4

_MAILBOX_SEGMENT = re.compile(r"/users/([^/?#]+)", re.IGNORECASE)


def mailbox_key(url: str) -> str | None:
    """Return the ``users/{id}`` segment of a Graph URL, lower-case, or None for other URLs."""
    match = _MAILBOX_SEGMENT.search(url)
    return match.group(1).lower() if match else None


class MailboxLimiter:
    """One bounded semaphore per mailbox, created on first use.

    NOTE: the limit applies within one process. Several worker processes against one
    mailbox can exceed it, and Graph then responds 429, which the client retries.
    """

    def __init__(self, limit: int = MAX_CONCURRENT_PER_MAILBOX) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the mailbox's request slots for the duration of the block."""
        key = mailbox_key(url)
        if key is None:
            yield
            return
        with self._lock:
            semaphore = self._semaphores.setdefault(key, threading.BoundedSemaphore(self._limit))
        with semaphore:
            yield
