"""Faults injected into Graph responses: throttling, outages and slow responses."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

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

    :raise ValueError: a value is missing or out of range.
    """
    unknown = sorted(set(body) - FAULT_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown fault field(s) {', '.join(unknown)}; use {', '.join(sorted(FAULT_FIELDS))}."
        )
    status = body.get("status")
    delay = float(body.get("delaySeconds", 0) or 0)
    if status is None and delay <= 0:
        raise ValueError(
            "Give a status (403, 429, 500, 502, 503, 504 or 410), delaySeconds, or both."
        )
    if status is not None and status not in DEFAULT_CODES:
        raise ValueError(
            f"status {status!r} is not injectable; use one of {sorted(DEFAULT_CODES)}."
        )
    if not 0 <= delay <= MAX_DELAY_SECONDS:
        raise ValueError(f"delaySeconds {delay} is out of range; use 0 to {MAX_DELAY_SECONDS}.")
    count = int(body.get("count", 1))
    if count < 1:
        raise ValueError(f"count {count} is invalid; use 1 or more.")
    default_code, default_message = DEFAULT_CODES.get(status, ("", ""))
    retry_after = body.get("retryAfter")
    if retry_after is None and status in (429, 503):
        retry_after = 1
    return Fault(
        status=status,
        code=str(body.get("code") or default_code),
        message=str(body.get("message") or default_message),
        path=str(body.get("path", "")),
        retry_after=int(retry_after) if retry_after is not None else None,
        delay_seconds=delay,
        remaining=count,
    )


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
