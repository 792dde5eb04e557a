"""Microsoft Graph requests: timeouts, paging, retries on 429/503 and typed errors."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests

from ..errors import MailgripError
from .concurrency import MailboxLimiter

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_SECONDS = 60.0
# A Retry-After beyond this is taken as this: a wrong header must not stall a mailbox for days.
MAX_RETRY_AFTER_HEADER_SECONDS = 3600.0


class GraphError(MailgripError):
    """A Graph request failed; carries Graph's status, error code and ``request-id`` when known."""

    status = 502
    code = "graph_error"

    def __init__(
        self,
        message: str,
        http_status: int | None = None,
        graph_code: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, graph_status=http_status, graph_code=graph_code, request_id=request_id
        )
        self.http_status = http_status
        self.graph_code = graph_code
        self.request_id = request_id
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Whether the call may succeed later: Graph throttled it (429) or was unavailable (503)."""
        return self.http_status in (429, 503)

    @classmethod
    def from_response(cls, response: requests.Response) -> GraphError:
        try:
            error = response.json().get("error", {})
        except (ValueError, AttributeError):
            error = {}
        graph_code = error.get("code", "") if isinstance(error, dict) else ""
        graph_message = error.get("message", "") if isinstance(error, dict) else ""
        return cls(
            f"Graph {response.request.method} {_path(response.url)} failed: "
            f"{response.status_code} {graph_code} {graph_message or response.reason}".strip(),
            http_status=response.status_code,
            graph_code=graph_code,
            request_id=response.headers.get("request-id"),
            retry_after=_retry_after_header(response),
        )


class GraphUnavailable(GraphError):
    """Graph could not be reached: connection refused or reset, TLS failure, timeout."""

    code = "graph_unavailable"

    @property
    def transient(self) -> bool:
        return True


def _path(url: str) -> str:
    """Return the URL without its query, which may carry delta and skip tokens."""
    return url.split("?", 1)[0]


class GraphClient:
    """Client for Graph with an app-only token. Every request prefers immutable ids.

    At most ``MAX_CONCURRENT_PER_MAILBOX`` requests to one mailbox are in flight at a time
    across the threads that share this client. A retry waits without holding a slot.
    """

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        token: Callable[[], str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._sleep = sleep
        self._limiter = MailboxLimiter()

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self._base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> requests.Response:
        """Send one request, retrying 429 and 503 after ``Retry-After`` or a backoff.

        :param max_attempts: 1 turns retries off, for callers that count every request
            against a budget of their own.
        :raise GraphError: Graph returned an error status after the last attempt.
        """
        url = self.url(path)
        prefer = ['IdType="ImmutableId"']
        merged = dict(headers or {})
        if "Prefer" in merged:
            prefer.append(merged.pop("Prefer"))
        for attempt in range(1, max_attempts + 1):
            request_headers = {
                "Authorization": f"Bearer {self._token()}",
                "Prefer": ", ".join(prefer),
                **merged,
            }
            try:
                with self._limiter.slot(url):
                    response = self._session.request(
                        method, url, params=params, json=json, headers=request_headers
                    )
            except requests.RequestException as error:
                raise GraphUnavailable(f"Graph {method} {_path(url)} failed: {error}") from error
            if response.status_code not in (429, 503) or attempt == max_attempts:
                break
            delay = _retry_delay(response, attempt)
            log.warning(
                "Graph %s %s returned %s (request-id %s); retry %d in %.1f s",
                method,
                _path(url),
                response.status_code,
                response.headers.get("request-id"),
                attempt,
                delay,
            )
            self._sleep(delay)
        if response.status_code >= 400:
            raise GraphError.from_response(response)
        return response

    def get_json(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.request("GET", path, **kwargs).json()

    def iter_pages(
        self, path: str, *, params: dict[str, Any] | None = None, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every page of a collection, following ``@odata.nextLink``."""
        headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else None
        page = self.get_json(path, params=params, headers=headers)
        yield page
        while "@odata.nextLink" in page:
            page = self.get_json(page["@odata.nextLink"], headers=headers)
            yield page

    def send_mail(self, user_id: str, message: dict[str, Any], save_to_sent_items: bool = False):
        """Send a message from ``user_id``'s mailbox through ``sendMail``."""
        self.request(
            "POST",
            f"users/{quote(user_id)}/sendMail",
            json={"message": message, "saveToSentItems": save_to_sent_items},
        )


def _retry_after_header(response: requests.Response) -> float | None:
    """Return ``Retry-After`` in seconds, or None when absent or not a number.

    Only capped at an hour: a caller that gives up now (message trace's budget, a job that
    resumes later) waits all of it.
    """
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_HEADER_SECONDS)


def _retry_delay(response: requests.Response, attempt: int) -> float:
    retry_after = _retry_after_header(response)
    if retry_after is not None:
        # A request thread sleeps at most this long; a longer wait is the caller's to plan.
        return min(retry_after, MAX_RETRY_AFTER_SECONDS)
    # Exponential backoff with full jitter when Graph gives no Retry-After.
    return random.uniform(0, min(2**attempt, MAX_RETRY_AFTER_SECONDS))
