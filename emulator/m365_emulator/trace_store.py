"""Exchange message trace of the emulated tenant: one record per recipient of each sent message.

A record reports "gettingStatus", then "pending", until it has been polled a number of times
and a number of seconds have passed. Then it reports its final status. The final status
comes from the outcome rule set for the recipient's address, "delivered" without one.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .fields import boolean, integer, number, reject_unknown, text
from .model import Message, utc_now

OUTCOME_STATUSES = ("delivered", "failed", "quarantined", "filteredAsSpam", "expanded", "pending")
OUTCOME_FIELDS = frozenset(
    {"address", "status", "detail", "members", "report", "pendingPolls", "finalAfterSeconds"}
)
CONFIG_FIELDS = frozenset(
    {"pendingPolls", "finalAfterSeconds", "throttleRequests", "throttleWindowSeconds"}
)
# Microsoft's documented limit for both message trace APIs: 100 requests per 5 minutes.
DEFAULT_THROTTLE_REQUESTS = 100
DEFAULT_THROTTLE_WINDOW_SECONDS = 300.0
# Upper bounds of the delays and limits, far above what a test needs.
MAX_PENDING_POLLS = 1000
MAX_SECONDS = 3600
MAX_THROTTLE_REQUESTS = 10_000
# Exchange's own hosts, as they appear in trace rows and details.
FROM_IP = "2603:10b6:806:1a::15"


@dataclass(frozen=True)
class OutcomeRule:
    """The outcome of mail sent to one address."""

    address: str
    status: str = "delivered"
    detail: str = ""
    members: tuple[str, ...] = ()
    report: bool = False
    pending_polls: int | None = None
    final_after_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "status": self.status,
            "detail": self.detail,
            "members": list(self.members),
            "report": self.report,
            "pendingPolls": self.pending_polls,
            "finalAfterSeconds": self.final_after_seconds,
        }


def outcome_from_json(body: dict[str, Any]) -> OutcomeRule:
    """Build an outcome rule from control API JSON.

    :raise ValueError: a field is unknown, missing, of another type or out of range.
    """
    reject_unknown(body, OUTCOME_FIELDS)
    address = text("address", body.get("address", "")).strip()
    if "@" not in address:
        raise ValueError(f"address {address!r} is invalid; use a form like user@example.com.")
    status = text("status", body.get("status", "delivered"))
    if status not in OUTCOME_STATUSES:
        raise ValueError(f"status {status!r} is invalid; use one of {', '.join(OUTCOME_STATUSES)}.")
    members = [] if body.get("members") is None else body["members"]
    if not isinstance(members, list) or not all(isinstance(item, str) for item in members):
        raise ValueError("members must be a list of addresses.")
    if members and status != "expanded":
        raise ValueError("members are only for status 'expanded' (a distribution list).")
    detail = "" if body.get("detail") is None else text("detail", body["detail"])
    if status == "failed" and not detail:
        detail = "550 5.1.1 RESOLVER.ADR.RecipientNotFound; Recipient not found"
    report = body.get("report")
    pending_polls, final_after = body.get("pendingPolls"), body.get("finalAfterSeconds")
    return OutcomeRule(
        address=address,
        status=status,
        detail=detail,
        members=tuple(members),
        report=status == "failed" if report is None else boolean("report", report),
        pending_polls=None if pending_polls is None else _pending_polls(pending_polls),
        final_after_seconds=None if final_after is None else _final_after(final_after),
    )


def _pending_polls(value: Any) -> int:
    return integer("pendingPolls", value, 0, MAX_PENDING_POLLS)


def _final_after(value: Any) -> float:
    return number("finalAfterSeconds", value, 0, MAX_SECONDS)


@dataclass
class TraceRecord:
    """One recipient of one sent message as message trace reports it."""

    id: str
    sender: str
    recipient: str
    message_id: str
    received: dt.datetime
    subject: str
    size: int
    final_status: str
    detail: str
    pending_polls: int
    final_after_seconds: float
    sent_monotonic: float = field(default_factory=time.monotonic)
    polls: int = 0

    def status(self) -> str:
        """Return the status message trace reports now."""
        ready = time.monotonic() - self.sent_monotonic >= self.final_after_seconds
        if self.polls >= self.pending_polls and ready:
            return self.final_status
        return "gettingStatus" if self.polls == 0 else "pending"

    def to_json(self, status: str) -> dict[str, Any]:
        """Return the exchangeMessageTrace JSON, in the property order of Graph's samples."""
        return {
            "id": self.id,
            "senderAddress": self.sender,
            "recipientAddress": self.recipient,
            "messageId": self.message_id,
            "receivedDateTime": self.received.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject": self.subject,
            "size": self.size,
            "fromIP": FROM_IP,
            "toIP": "",
            "status": status,
        }


class TraceStore:
    """Outcome rules, trace records and the request log behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._rules: dict[str, OutcomeRule] = {}
            self._records: list[TraceRecord] = []
            self._requests: list[float] = []
            self._malformed: list[str] = []
            self.request_count = 0
            self.pending_polls = 1
            self.final_after_seconds = 0.0
            self.throttle_requests = DEFAULT_THROTTLE_REQUESTS
            self.throttle_window_seconds = DEFAULT_THROTTLE_WINDOW_SECONDS

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change the default delays and the throttling limit.

        Every field is checked before any changes, so a rejected body changes nothing.

        :raise ValueError: a field is unknown, of another type or out of range.
        """
        reject_unknown(body, CONFIG_FIELDS)
        checks = {
            "pendingPolls": _pending_polls,
            "finalAfterSeconds": _final_after,
            "throttleRequests": lambda value: integer(
                "throttleRequests", value, 1, MAX_THROTTLE_REQUESTS
            ),
            "throttleWindowSeconds": lambda value: number(
                "throttleWindowSeconds", value, 1, MAX_SECONDS
            ),
        }
        values = {name: checks[name](value) for name, value in body.items()}
        with self._lock:
            self.pending_polls = values.get("pendingPolls", self.pending_polls)
            self.final_after_seconds = values.get("finalAfterSeconds", self.final_after_seconds)
            self.throttle_requests = values.get("throttleRequests", self.throttle_requests)
            self.throttle_window_seconds = values.get(
                "throttleWindowSeconds", self.throttle_window_seconds
            )
            return self.config_json()

    def config_json(self) -> dict[str, Any]:
        return {
            "pendingPolls": self.pending_polls,
            "finalAfterSeconds": self.final_after_seconds,
            "throttleRequests": self.throttle_requests,
            "throttleWindowSeconds": self.throttle_window_seconds,
        }

    def set_rule(self, rule: OutcomeRule) -> None:
        with self._lock:
            self._rules[rule.address.lower()] = rule

    def rules(self) -> list[OutcomeRule]:
        with self._lock:
            return list(self._rules.values())

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def add_malformed(self, body: str, count: int) -> None:
        """Return ``body`` with status 200 for the next ``count`` trace requests."""
        with self._lock:
            self._malformed.extend([body] * count)

    def take_malformed(self) -> str | None:
        with self._lock:
            return self._malformed.pop(0) if self._malformed else None

    def admit_request(self) -> float | None:
        """Count one request against the throttling limit.

        :return: None when admitted, else the seconds until a request would be admitted.
        """
        now = time.monotonic()
        with self._lock:
            self.request_count += 1
            window = self.throttle_window_seconds
            self._requests = [moment for moment in self._requests if now - moment < window]
            if len(self._requests) >= self.throttle_requests:
                return window - (now - self._requests[0])
            self._requests.append(now)
            return None

    def record_send(self, sender: str, message: Message) -> list[tuple[str, str]]:
        """Add the records of a message sent now, one per recipient and list member.

        :return: ``(address, SMTP reply)`` of each recipient whose rule requests a report.
        """
        trace_id = str(uuid.uuid4())
        size = len(message.body_content.encode("utf-8")) + sum(
            item.size for item in message.attachments
        )
        received = message.sent or utc_now()
        reports: list[tuple[str, str]] = []
        with self._lock:
            addresses = [
                item.address
                for item in message.to_recipients + message.cc_recipients + message.bcc_recipients
            ]
            seen: set[str] = set()
            queue = list(addresses)
            while queue:
                address = queue.pop(0)
                if address.lower() in seen:
                    continue
                seen.add(address.lower())
                rule = self._rules.get(address.lower(), OutcomeRule(address))
                queue.extend(rule.members)
                self._records.append(
                    TraceRecord(
                        id=trace_id,
                        sender=sender.lower(),
                        # Message trace reports addresses in lower case.
                        recipient=address.lower(),
                        message_id=message.internet_message_id,
                        received=received,
                        subject=message.subject,
                        size=size,
                        final_status=rule.status,
                        detail=rule.detail,
                        pending_polls=(
                            self.pending_polls if rule.pending_polls is None else rule.pending_polls
                        ),
                        final_after_seconds=(
                            self.final_after_seconds
                            if rule.final_after_seconds is None
                            else rule.final_after_seconds
                        ),
                    )
                )
                if rule.report:
                    reports.append((address, rule.detail or "550 5.0.0 Delivery failed"))
        return reports

    def answer(self, matches) -> list[dict[str, Any]]:
        """Return the JSON of the records that ``matches``, counting one poll for each."""
        with self._lock:
            rows = []
            for record in self._records:
                if not matches(record):
                    continue
                rows.append(record.to_json(record.status()))
                record.polls += 1
            return rows

    def find(self, trace_id: str, recipient: str) -> TraceRecord | None:
        with self._lock:
            return next(
                (
                    record
                    for record in self._records
                    if record.id == trace_id and record.recipient == recipient.lower()
                ),
                None,
            )

    def records_json(self) -> list[dict[str, Any]]:
        """Return every record with its poll count, for tests."""
        with self._lock:
            return [
                {**record.to_json(record.status()), "polls": record.polls}
                for record in self._records
            ]
