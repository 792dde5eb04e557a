"""Control of message trace under ``/_emulator/``: delivery outcomes, delays, throttling."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from .context import control_error, current_emulator
from .control import bp
from .fields import integer
from .trace_store import outcome_from_json

MAX_MALFORMED = 100


def _json_body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@bp.post("/delivery-outcomes")
def set_delivery_outcome():
    """Set the outcome of mail sent from now on to one address.

    The fields are address and status (delivered, failed, quarantined, filteredAsSpam,
    expanded or pending). detail is the SMTP reply of a failure, members those of a
    distribution list. report puts a non-delivery report in the sender's Inbox, by default for
    failed. pendingPolls and finalAfterSeconds override the defaults of
    ``message-traces/config``.
    """
    body = _json_body()
    if body is None:
        return control_error(400, "invalid_request", "The request body must be a JSON object.")
    try:
        rule = outcome_from_json(body)
    except ValueError as error:
        return control_error(400, "invalid_outcome", str(error))
    current_emulator().state.traces.set_rule(rule)
    return jsonify(rule.to_json()), 201


@bp.get("/delivery-outcomes")
def list_delivery_outcomes():
    rules = current_emulator().state.traces.rules()
    return jsonify({"value": [rule.to_json() for rule in rules]})


@bp.delete("/delivery-outcomes")
def clear_delivery_outcomes():
    current_emulator().state.traces.clear_rules()
    return "", 204


@bp.get("/message-traces")
def list_trace_records():
    """List every trace record with its poll count, and the number of trace requests so far."""
    traces = current_emulator().state.traces
    return jsonify({"value": traces.records_json(), "requests": traces.request_count})


@bp.get("/message-traces/config")
def get_trace_config():
    return jsonify(current_emulator().state.traces.config_json())


@bp.post("/message-traces/config")
def set_trace_config():
    """Set pendingPolls, finalAfterSeconds, throttleRequests and throttleWindowSeconds."""
    body = _json_body()
    if body is None:
        return control_error(400, "invalid_request", "The request body must be a JSON object.")
    try:
        config = current_emulator().state.traces.configure(body)
    except ValueError as error:
        return control_error(400, "invalid_config", str(error))
    return jsonify(config)


@bp.post("/message-traces/malformed")
def add_malformed_answers():
    """Return ``body`` with status 200 for the next ``count`` message trace requests."""
    body = _json_body()
    if body is None or not isinstance(body.get("body"), str):
        return control_error(
            400, "invalid_request", 'Send {"body": "<response text>", "count": 1}.'
        )
    try:
        count = integer("count", body.get("count", 1), 1, MAX_MALFORMED)
    except ValueError as error:
        return control_error(400, "invalid_request", str(error))
    current_emulator().state.traces.add_malformed(body["body"], count)
    return "", 204
