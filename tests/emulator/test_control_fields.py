"""Field checks of the control API: a 400 that names the field and what it accepts."""

from __future__ import annotations

import json

import pytest

CASES = [
    ("config", {"mailgripUrl": 5}, "mailgripUrl 5 is invalid; use an http(s) URL on 127.0.0.1"),
    ("config", {"mailgripUrl": "http://[::1"}, "mailgripUrl 'http://[::1' is invalid"),
    ("config", {"addinId": 7}, "addinId 7 is invalid; use the add-in's id"),
    ("config", {"mailgripURL": "http://127.0.0.1:5000"}, "unknown field(s) mailgripURL"),
    (
        "delivery-outcomes",
        {"address": "a@b.example", "pendingPolls": "x"},
        "pendingPolls 'x' is invalid; use an integer from 0 to 1000.",
    ),
    (
        "delivery-outcomes",
        {"address": "a@b.example", "pendingPolls": -1},
        "pendingPolls -1 is invalid; use an integer from 0 to 1000.",
    ),
    (
        "delivery-outcomes",
        {"address": "a@b.example", "pendingPolls": 1.5},
        "pendingPolls 1.5 is invalid; use an integer from 0 to 1000.",
    ),
    (
        "delivery-outcomes",
        {"address": "a@b.example", "finalAfterSeconds": "soon"},
        "finalAfterSeconds 'soon' is invalid; use a number from 0 to 3600.",
    ),
    (
        "delivery-outcomes",
        {"address": "a@b.example", "report": "yes"},
        "report 'yes' is invalid; use true or false.",
    ),
    ("delivery-outcomes", {"address": 5}, "address 5 is invalid; use a string."),
    ("delivery-outcomes", {"address": "a@b.example", "status": 3}, "status 3 is invalid"),
    ("delivery-outcomes", {"address": "a@b.example", "detail": 4}, "detail 4 is invalid"),
    (
        "message-traces/config",
        {"throttleRequests": "x"},
        "throttleRequests 'x' is invalid; use an integer from 1 to 10000.",
    ),
    (
        "message-traces/config",
        {"throttleRequests": 0},
        "throttleRequests 0 is invalid; use an integer from 1 to 10000.",
    ),
    (
        "message-traces/config",
        {"throttleWindowSeconds": 0},
        "throttleWindowSeconds 0 is invalid; use a number from 1 to 3600.",
    ),
    (
        "message-traces/config",
        {"pendingPolls": True},
        "pendingPolls True is invalid; use an integer from 0 to 1000.",
    ),
    (
        "message-traces/config",
        {"finalAfterSeconds": float("nan")},
        "finalAfterSeconds nan is invalid; use a number from 0 to 3600.",
    ),
    (
        "faults",
        {"status": 429, "retryAfter": -5},
        "retryAfter -5 is invalid; use an integer from 0 to 3600.",
    ),
    (
        "faults",
        {"status": 429, "retryAfter": "1"},
        "retryAfter '1' is invalid; use an integer from 0 to 3600.",
    ),
    (
        "faults",
        {"status": 503, "delaySeconds": "x"},
        "delaySeconds 'x' is invalid; use a number from 0 to 30.",
    ),
    ("faults", {"status": 503, "count": 0}, "count 0 is invalid; use an integer from 1 to 10000."),
    ("faults", {"status": "429"}, "status '429' is not injectable; use one of"),
    ("faults", {"status": 503, "path": 5}, "path 5 is invalid; use a string."),
    (
        "message-traces/malformed",
        {"body": "x", "count": "x"},
        "count 'x' is invalid; use an integer from 1 to 100.",
    ),
    (
        "message-traces/malformed",
        {"body": "x", "count": True},
        "count True is invalid; use an integer from 1 to 100.",
    ),
]


@pytest.mark.parametrize(("route", "body", "expected"), CASES)
def test_control_field_rejected(emulator, http, route, body, expected):
    # json.dumps writes NaN, which requests' json= refuses but Python's JSON parser reads.
    response = http.post(
        f"{emulator.base_url}/_emulator/{route}",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 400
    assert expected in response.json()["message"]


def test_trace_config_unchanged_when_rejected(emulator, http):
    url = f"{emulator.base_url}/_emulator/message-traces/config"
    before = http.get(url, timeout=10).json()

    response = http.post(url, json={"pendingPolls": 7, "throttleWindowSeconds": -1}, timeout=10)

    assert response.status_code == 400
    assert http.get(url, timeout=10).json() == before


def test_control_fields_accept_bounds(emulator, http):
    base = f"{emulator.base_url}/_emulator"

    fault = http.post(f"{base}/faults", json={"status": 429, "retryAfter": 0}, timeout=10)
    config = http.post(
        f"{base}/message-traces/config",
        json={"throttleRequests": 1, "throttleWindowSeconds": 1, "finalAfterSeconds": 3600},
        timeout=10,
    )
    outcome = http.post(
        f"{base}/delivery-outcomes",
        json={"address": "a@b.example", "pendingPolls": 0, "report": False},
        timeout=10,
    )

    assert fault.status_code == 201
    assert fault.json()["retryAfter"] == 0
    assert config.status_code == 200
    assert config.json()["throttleWindowSeconds"] == 1
    assert outcome.status_code == 201
    assert outcome.json()["report"] is False
