"""The one outgoing HTTP session of a process: CA bundle and a timeout on every call."""

from __future__ import annotations

from typing import Any

import requests

from .config import Settings


class TimeoutSession(requests.Session):
    """A ``requests.Session`` that applies its timeout and CA bundle to every request.

    requests waits forever when no timeout is given, and msal calls the session without one.
    The CA bundle is passed per request because requests lets ``REQUESTS_CA_BUNDLE`` from the
    environment override ``Session.verify`` (requests 2.32).
    """

    def __init__(self, timeout: float, verify: bool | str) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.verify = verify

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


def create_session(settings: Settings) -> TimeoutSession:
    session = TimeoutSession(timeout=settings.http_timeout, verify=settings.requests_verify)
    session.headers["User-Agent"] = "Mailgrip/0.1"
    return session
