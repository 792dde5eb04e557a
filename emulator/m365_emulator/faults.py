"""Faults injected into Graph responses: throttling, outages and slow responses."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .fields import integer, number, reject_unknown, text

# Graph's error code for each injectable status.
DEFAULT_CODES = {
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    429: ("TooManyRequests", "Too many requests. Retry after the number of seconds given."),
    500: ("InternalServerError", "The service encountered an internal error."),
    502: ("BadGateway", "The service is temporarily unavailable."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Retry later."),
    504: ("GatewayTimeout", "The service did not answer in time."),
    410: ("SyncStateNotFound", "The sync state generation is not found. Restart the sync."),
}
MAX_DELAY_SECONDS = 30.0
# Upper bounds of retryAfter (an hour) and count, so that a typo cannot stall a test run.
MAX_RETRY_AFTER_SECONDS = 3600
MAX_COUNT = 10_000
FAULT_FIELDS = frozenset(
    {"status", "code", "message", "path", "retryAfter", "delaySeconds", "count"}
)


@dataclass
class Fault:
    """One planned fault for Graph requests whose path contains ``path``."""

    status: int | None
    code: str
    message: str
    path: str = ""
    retry_after: int | None = None
    delay_seconds: float = 0.0
    remaining: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "retryAfter": self.retry_after,
            "delaySeconds": self.delay_seconds,
            "remaining": self.remaining,
        }


def fault_from_json(body: dict[str, Any]) -> Fault:
    """Build a fault from control API JSON.

    ``status`` null with ``delaySeconds`` set makes a slow but successful response.

    :raise ValueError: a field is unknown, missing, of another type or out of range.
    """
    reject_unknown(body, FAULT_FIELDS)
    status = body.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or status not in DEFAULT_CODES
    ):
        raise ValueError(
            f"status {status!r} is not injectable; use one of {sorted(DEFAULT_CODES)} or null."
        )
    delay = _optional(body, "delaySeconds", number, 0.0, MAX_DELAY_SECONDS)
    if status is None and not delay:
        raise ValueError(
            "Give a status (403, 429, 500, 502, 503, 504 or 410), delaySeconds, or both."
        )
    count = _optional(body, "count", integer, 1, MAX_COUNT)
    retry_after = _optional(body, "retryAfter", integer, 0, MAX_RETRY_AFTER_SECONDS)
    if retry_after is None and status in (429, 503):
        retry_after = 1
    default_code, default_message = DEFAULT_CODES.get(status, ("", ""))
    return Fault(
        status=status,
        code=_optional_text(body, "code") or default_code,
        message=_optional_text(body, "message") or default_message,
        path=_optional_text(body, "path"),
        retry_after=retry_after,
        delay_seconds=0.0 if delay is None else delay,
        remaining=1 if count is None else count,
    )


def _optional(body: dict[str, Any], name: str, check, minimum, maximum):
    """Return the checked field, or None when it is missing or null."""
    value = body.get(name)
    return None if value is None else check(name, value, minimum, maximum)


def _optional_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return "" if value is None else text(name, value)


class FaultPlan:
    """Planned faults, each used for ``remaining`` matching requests, in the order added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, path: str) -> Fault | None:
        """Return and count down the first fault that matches ``path``, or None."""
        with self._lock:
            for fault in self._faults:
                if fault.path in path:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None
