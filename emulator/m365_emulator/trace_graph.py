"""Graph's message trace endpoints: List messageTraces and getDetailsByRecipient.

They need the permission ExchangeMessageTrace.Read.All, as an application role or a delegated
scope, and share one throttling limit per tenant (100 requests per 5 minutes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

from flask import Response, abort, g, jsonify, request

from .context import current_emulator, graph_error
from .graph import bp
from .trace_store import TraceRecord

TRACE_PERMISSION = "ExchangeMessageTrace.Read.All"
DEFAULT_TOP = 1000
MAX_TOP = 5000
MAX_WINDOW = dt.timedelta(days=10)
MAX_LOOKBACK = dt.timedelta(days=90)
DEFAULT_WINDOW = dt.timedelta(hours=48)
# How far past the current time the end of the window may lie; Graph documents only that
# it must not be later than the current date, so the tolerance is a guess.
END_TOLERANCE = dt.timedelta(minutes=5)

_CLAUSE = re.compile(
    r"\s*(\w+)\s+(eq|ge|le)\s+('(?:[^']|'')*'|[^\s']+)\s*(?:\band\b|$)", re.IGNORECASE
)
_STRING_FIELDS: dict[str, Callable[[TraceRecord], str]] = {
    "id": lambda record: record.id,
    "senderaddress": lambda record: record.sender,
    "recipientaddress": lambda record: record.recipient,
    "messageid": lambda record: record.message_id,
    "status": lambda record: record.status(),
}
_DETAILS_FUNCTION = re.compile(
    r"^getDetailsByRecipient\(recipientAddress='((?:[^']|'')*)'\)$", re.IGNORECASE
)


def _fail(status: int, code: str, message: str) -> NoReturn:
    abort(graph_error(status, code, message))


def _check_permission_and_throttle() -> None:
    claims = g.claims
    granted = (
        set(str(claims.get("scp", "")).split()) if "scp" in claims else set(claims.get("roles", []))
    )
    if TRACE_PERMISSION not in granted:
        _fail(
            403,
            "Forbidden",
            f"Missing role permissions on the request. API requires one of '{TRACE_PERMISSION}'.",
        )
    retry_after = current_emulator().state.traces.admit_request()
    if retry_after is not None:
        response = graph_error(
            429, "TooManyRequests", "Too many requests. Retry after the number of seconds given."
        )
        response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        abort(response)


def _malformed_answer() -> Response | None:
    body = current_emulator().state.traces.take_malformed()
    if body is None:
        return None
    return Response(body, status=200, content_type="application/json")


def _parse_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip("'").replace("Z", "+00:00"))
    except ValueError:
        _fail(400, "BadRequest", f"The value '{text}' is not a valid DateTimeOffset.")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _compile_filter(
    raw: str,
) -> tuple[list[Callable[[TraceRecord], bool]], dt.datetime, dt.datetime]:
    """Return the tests of a ``$filter`` and the receivedDateTime window it requests.

    :raise 400: a clause, property or window is not accepted.
    """
    tests: list[Callable[[TraceRecord], bool]] = []
    start = end = None
    position = 0
    text = raw.strip()
    while position < len(text):
        match = _CLAUSE.match(text, position)
        if not match or match.end() == position:
            _fail(400, "BadRequest", f"Invalid filter clause: '{text[position:].strip()}'.")
        position = match.end()
        name, operator, literal = match.group(1).lower(), match.group(2).lower(), match.group(3)
        if name == "receiveddatetime" and operator in ("ge", "le"):
            if operator == "ge":
                start = _parse_time(literal)
            else:
                end = _parse_time(literal)
        elif name in _STRING_FIELDS and operator == "eq" and literal.startswith("'"):
            expected = literal[1:-1].replace("''", "'").lower()
            getter = _STRING_FIELDS[name]
            tests.append(lambda record, get=getter, value=expected: get(record).lower() == value)
        else:
            _fail(
                400,
                "BadRequest",
                f"The filter on '{match.group(1)} {operator}' is not supported. Use eq on id, "
                "senderAddress, recipientAddress, messageId or status, and ge and le on "
                "receivedDateTime.",
            )
    now = dt.datetime.now(dt.UTC)
    if (start is None) != (end is None):
        _fail(400, "BadRequest", "Filter receivedDateTime with both ge and le bounds.")
    if start is None or end is None:
        start, end = now - DEFAULT_WINDOW, now
    if end - start > MAX_WINDOW:
        _fail(400, "BadRequest", "The receivedDateTime interval must not exceed 10 days.")
    if start < now - MAX_LOOKBACK:
        _fail(400, "BadRequest", "The start of the interval must not be more than 90 days ago.")
    if end > now + END_TOLERANCE or start > end:
        _fail(400, "BadRequest", "The end of the interval must not be later than the current date.")
    return tests, start, end


@bp.get("/admin/exchange/tracing/messageTraces")
def list_message_traces():
    """List the trace rows that match ``$filter``, ``$top`` at a time."""
    _check_permission_and_throttle()
    malformed = _malformed_answer()
    if malformed is not None:
        return malformed
    tests, start, end = _compile_filter(request.args.get("$filter", ""))
    try:
        top = int(request.args.get("$top", DEFAULT_TOP))
        skip = int(request.args.get("$skiptoken", 0))
    except ValueError:
        _fail(400, "BadRequest", "$top and $skiptoken must be whole numbers.")
    if not 1 <= top <= MAX_TOP or skip < 0:
        _fail(400, "BadRequest", f"$top must be 1 to {MAX_TOP}.")

    def matches(record: TraceRecord) -> bool:
        return start <= record.received <= end and all(test(record) for test in tests)

    rows = current_emulator().state.traces.answer(matches)
    base = current_emulator().config.graph_base
    body: dict[str, Any] = {
        "@odata.context": f"{base}/$metadata#admin/exchange/tracing/messageTraces",
        "value": rows[skip : skip + top],
    }
    if skip + top < len(rows):
        args = request.args.to_dict()
        args["$skiptoken"] = str(skip + top)
        body["@odata.nextLink"] = f"{base}/admin/exchange/tracing/messageTraces?" + urlencode(
            args, quote_via=quote, safe="$,'()"
        )
    return jsonify(body)


@bp.get("/admin/exchange/tracing/messageTraces/<trace_id>/<path:function>")
def trace_details(trace_id: str, function: str):
    """Return the events of one recipient's row (``getDetailsByRecipient``)."""
    match = _DETAILS_FUNCTION.match(function)
    if match is None:
        _fail(400, "BadRequest", f"Resource not found for the segment '{function}'.")
    _check_permission_and_throttle()
    malformed = _malformed_answer()
    if malformed is not None:
        return malformed
    recipient = match.group(1).replace("''", "'")
    record = current_emulator().state.traces.find(trace_id, recipient)
    events = [] if record is None else _events(record)
    base = current_emulator().config.graph_base
    return jsonify(
        {
            "@odata.context": (
                f"{base}/$metadata#Collection(microsoft.graph.exchangeMessageTraceDetail)"
            ),
            "value": events,
        }
    )


# Event names and descriptions of each status. The texts after "Receive" are guesses in the
# style of Exchange's, but the failure reason has Exchange's documented LED form.
_STATUS_EVENTS = {
    "delivered": ("Deliver", "The message was successfully delivered."),
    "expanded": ("Expand", "The distribution group was expanded."),
    "quarantined": ("Quarantine", "The message was quarantined."),
    "filteredAsSpam": ("Spam", "The message was delivered to the Junk Email folder."),
    "pending": ("Defer", "The message delivery was deferred and will be retried."),
}


def _events(record: TraceRecord) -> list[dict[str, str]]:
    received = record.received.strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (record.received + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def event(moment: str, name: str, description: str) -> dict[str, str]:
        return {
            "id": record.id,
            "messageId": record.message_id,
            "dateTime": moment,
            "event": name,
            "action": "",
            "description": description,
            "data": "<root></root>",
        }

    events = [event(received, "Receive", "Message received by: EMULATOR01.prod.outlook.example")]
    status = record.status()
    if status == "failed":
        events.append(
            event(
                later,
                "Fail",
                f"Reason: [{{LED={record.detail}}};{{MSG=}};{{FQDN=}};{{IP=}};{{LRT=}}]. "
                "OutboundProxyTargetIP: . OutboundProxyTargetHostName: ",
            )
        )
    elif status in _STATUS_EVENTS:
        events.append(event(later, *_STATUS_EVENTS[status]))
    return events
