"""Requests to Exchange message trace through Graph, and the checks on what it returns.

``GET /admin/exchange/tracing/messageTraces`` returns one row per recipient of a message, each
with its delivery status. ``getDetailsByRecipient`` returns the events of one row; the last
failure event gives the reason a message failed. Both need the application permission
``ExchangeMessageTrace.Read.All``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..graph.client import GraphClient
from ..graph.times import parse_graph_time

TRACES_PATH = "admin/exchange/tracing/messageTraces"
# Graph rejects a receivedDateTime window longer than 10 days or starting more than 90 days ago.
MAX_WINDOW = timedelta(days=10)
MAX_LOOKBACK = timedelta(days=90)
# A sent item's sentDateTime comes from the client's clock, Exchange's receivedDateTime from
# the server's, so the window starts a little earlier than the send.
CLOCK_MARGIN = timedelta(minutes=15)
# Exchange writes a failure's reason as "Reason: [{LED=550 5.1.1 ...};{MSG=};...]"; LED is the
# last error description, the part a person can read.
_LAST_ERROR = re.compile(r"\{LED=([^}]*)\}")
FAILURE_EVENTS = frozenset({"fail", "drop", "bounce"})


class TraceResponseInvalid(ValueError):
    """Message trace returned a body that is not the documented collection."""


class TraceBudgetExhausted(Exception):
    """The tenant's message trace budget has no request left in the current window."""


@dataclass(frozen=True)
class TraceRow:
    """One recipient of a message as message trace reports it."""

    trace_id: str
    recipient_address: str
    status: str
    # When Exchange received the message for this recipient; None when missing or invalid.
    received_at: datetime | None = None


def trace_window(sent_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """Return the receivedDateTime bounds to request for a message sent at ``sent_at``.

    A ``sent_at`` in the future (a client clock that runs ahead) still gives a valid window.
    """
    start = max(sent_at - CLOCK_MARGIN, now - MAX_LOOKBACK, now - MAX_WINDOW)
    return min(start, now - CLOCK_MARGIN), now


def odata_string(value: str) -> str:
    """Quote a value as an OData string literal: single quotes around it, inner ones doubled."""
    return "'" + value.replace("'", "''") + "'"


def _odata_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_message_traces(
    graph: GraphClient,
    sender_address: str,
    internet_message_id: str,
    window: tuple[datetime, datetime],
    take_request: Callable[[], bool],
) -> list[TraceRow]:
    """Return the rows of one message, following every page.

    :param take_request: takes one request from the budget; called before every page.
    :raise TraceBudgetExhausted: the budget ran out before the last page.
    :raise TraceResponseInvalid: a page is not a collection of message traces.
    :raise GraphError: Graph returned an error, 429 included (there is no retry).
    """
    start, end = window
    filter_text = (
        f"senderAddress eq {odata_string(sender_address)}"
        f" and messageId eq {odata_string(internet_message_id)}"
        f" and receivedDateTime ge {_odata_time(start)}"
        f" and receivedDateTime le {_odata_time(end)}"
    )
    rows: list[TraceRow] = []
    url: str | None = TRACES_PATH
    params: dict[str, str] | None = {"$filter": filter_text}
    while url is not None:
        if not take_request():
            raise TraceBudgetExhausted()
        page = _json_object(graph.request("GET", url, params=params, max_attempts=1))
        values = page.get("value")
        if not isinstance(values, list):
            raise TraceResponseInvalid("The message trace page has no 'value' list.")
        rows.extend(row for row in (_row(value) for value in values) if row is not None)
        next_link = page.get("@odata.nextLink")
        url = next_link if isinstance(next_link, str) and next_link else None
        params = None
    return rows


def failure_detail(
    graph: GraphClient,
    trace_id: str,
    recipient_address: str,
    take_request: Callable[[], bool],
) -> str | None:
    """Return why delivery to one recipient failed, from the row's events.

    :return: the last error of the last failure event, its description when it has no such
        error, or None when no event reports a failure.
    :raise TraceBudgetExhausted: the budget has no request left.
    :raise TraceResponseInvalid: the body is not a collection of events.
    :raise GraphError: Graph returned an error.
    """
    if not take_request():
        raise TraceBudgetExhausted()
    address = quote(odata_string(recipient_address), safe="@'")
    function = f"getDetailsByRecipient(recipientAddress={address})"
    path = f"{TRACES_PATH}/{quote(trace_id, safe='')}/{function}"
    body = _json_object(graph.request("GET", path, max_attempts=1))
    events = body.get("value")
    if not isinstance(events, list):
        raise TraceResponseInvalid("The message trace detail has no 'value' list.")
    for event in reversed(events):
        if not isinstance(event, dict):
            continue
        if str(event.get("event", "")).lower() not in FAILURE_EVENTS:
            continue
        description = str(event.get("description") or "")
        last_error = _LAST_ERROR.search(description)
        if last_error and last_error.group(1).strip():
            return last_error.group(1).strip()
        return description or None
    return None


def _json_object(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise TraceResponseInvalid("Message trace returned a body that is not JSON.") from None
    if not isinstance(body, dict):
        raise TraceResponseInvalid("Message trace returned JSON that is not an object.")
    return body


def _row(value: Any) -> TraceRow | None:
    """Return a row, or None for an entry without an address, a status or an id."""
    if not isinstance(value, dict):
        return None
    trace_id, address, status = value.get("id"), value.get("recipientAddress"), value.get("status")
    if not all(isinstance(item, str) and item for item in (trace_id, address, status)):
        return None
    return TraceRow(
        trace_id=trace_id,
        recipient_address=address,
        status=status,
        received_at=parse_graph_time(value.get("receivedDateTime")),
    )
