"""A counting HTTP session and a settable clock, for tests of what Mailgrip fetches and when."""

from __future__ import annotations

from mailgrip.http import TimeoutSession


class CountingSession(TimeoutSession):
    """A real session that records the URL of every request it sends."""

    def __init__(self, verify: str) -> None:
        super().__init__(timeout=10, verify=verify)
        self.urls: list[str] = []

    def request(self, method, url, *args, **kwargs):
        self.urls.append(url)
        return super().request(method, url, *args, **kwargs)


class Clock:
    """A monotonic clock that moves only when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
