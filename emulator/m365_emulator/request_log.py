"""A record of Graph requests: method, path and Prefer header, and the most requests that
were in flight at once for each mailbox."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import Any

MAX_ENTRIES = 5_000
_MAILBOX = re.compile(r"^/v1\.0/users/([^/]+)", re.IGNORECASE)


def mailbox_key(path: str) -> str | None:
    """Return the ``users/{id or address}`` segment of a Graph path, lower-case."""
    match = _MAILBOX.match(path)
    return match.group(1).lower() if match else None


class RequestLog:
    """Thread-safe log of the latest ``MAX_ENTRIES`` Graph requests and in-flight counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}

    def start(self, method: str, path: str, prefer: str) -> str | None:
        """Record a request that starts now; return its mailbox key for ``finish``."""
        key = mailbox_key(path)
        with self._lock:
            self._entries.append(
                {"method": method, "path": path, "prefer": prefer, "startedAt": time.time()}
            )
            if key is not None:
                count = self._in_flight.get(key, 0) + 1
                self._in_flight[key] = count
                self._max_in_flight[key] = max(self._max_in_flight.get(key, 0), count)
        return key

    def finish(self, key: str | None) -> None:
        if key is None:
            return
        with self._lock:
            self._in_flight[key] = max(self._in_flight.get(key, 1) - 1, 0)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def max_in_flight(self) -> dict[str, int]:
        with self._lock:
            return dict(self._max_in_flight)

    def clear(self) -> None:
        """Forget the entries and the maxima; requests still in flight keep being counted."""
        with self._lock:
            self._entries.clear()
            self._max_in_flight = {key: count for key, count in self._in_flight.items() if count}
