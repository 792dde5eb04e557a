"""Message trace of the emulator: rows per recipient, delays, outcomes, reports, throttling."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest

TRACES = "admin/exchange/tracing/messageTraces"


def _control(emulator, http, method: str, path: str, **kwargs):
    response = http.request(method, f"{emulator.base_url}/_emulator/{path}", timeout=10, **kwargs)
    assert response.status_code < 400, response.text
    return response


def _send(graph, sender, subject: str, to: list[str]) -> None:
    message = {
        "subject": subject,
        "body": {"contentType": "Text", "content": "Figures attached."},
        "toRecipients": [{"emailAddress": {"address": address}} for address in to],
    }
    response = graph("POST", f"users/{sender['mail']}/sendMail", json={"message": message})
    assert response.status_code == 202, response.text


def _window(days: float = 1) -> str:
    now = datetime.now(UTC)
    start = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"receivedDateTime ge {start} and receivedDateTime le {now:%Y-%m-%dT%H:%M:%SZ}"


def _traces(graph, sender, extra: str = ""):
    query = f"senderAddress eq '{sender['mail']}' and {_window()}{extra}"
    return graph("GET", TRACES, params={"$filter": query})


def test_rows_match_graph_sample(emulator, graph, sender, graph_sample, assert_same_shape):
    _send(graph, sender, "Quarterly figures", ["Bob@Fabrikam.example"])

    response = _traces(graph, sender)

    assert response.status_code == 200, response.text
    assert_same_shape(graph_sample("messagetraces_list_response_example1.json"), response.json())
    row = response.json()["value"][0]
    assert row["recipientAddress"] == "bob@fabrikam.example"
    assert row["senderAddress"] == sender["mail"]
    assert row["subject"] == "Quarterly figures"


def test_status_pending_until_polled(emulator, http, graph, sender):
    _control(emulator, http, "POST", "message-traces/config", json={"pendingPolls": 2})
    _send(graph, sender, "Slow one", ["bob@fabrikam.example"])

    statuses = [_traces(graph, sender).json()["value"][0]["status"] for _ in range(3)]

    assert statuses == ["gettingStatus", "pending", "delivered"]


def test_status_waits_for_seconds(emulator, http, graph, sender):
    _control(
        emulator,
        http,
        "POST",
        "message-traces/config",
        json={"pendingPolls": 0, "finalAfterSeconds": 3600},
    )
    _send(graph, sender, "Very slow", ["bob@fabrikam.example"])

    assert _traces(graph, sender).json()["value"][0]["status"] == "gettingStatus"
    assert _traces(graph, sender).json()["value"][0]["status"] == "pending"


def test_outcomes_per_recipient(emulator, http, graph, sender):
    _control(emulator, http, "POST", "message-traces/config", json={"pendingPolls": 0})
    outcomes = [
        {
            "address": "gone@fabrikam.example",
            "status": "failed",
            "detail": "550 5.1.1 user unknown",
        },
        {"address": "held@fabrikam.example", "status": "quarantined"},
        {"address": "junk@fabrikam.example", "status": "filteredAsSpam"},
        {
            "address": "team@fabrikam.example",
            "status": "expanded",
            "members": ["ann@fabrikam.example", "ben@fabrikam.example"],
        },
    ]
    for outcome in outcomes:
        _control(emulator, http, "POST", "delivery-outcomes", json=outcome)
    addresses = [item["address"] for item in outcomes] + ["bob@fabrikam.example"]
    _send(graph, sender, "Mixed", addresses)

    rows = _traces(graph, sender).json()["value"]

    statuses = {row["recipientAddress"]: row["status"] for row in rows}
    assert statuses == {
        "gone@fabrikam.example": "failed",
        "held@fabrikam.example": "quarantined",
        "junk@fabrikam.example": "filteredAsSpam",
        "team@fabrikam.example": "expanded",
        "ann@fabrikam.example": "delivered",
        "ben@fabrikam.example": "delivered",
        "bob@fabrikam.example": "delivered",
    }
    assert len({row["id"] for row in rows}) == 1


def test_filter_by_message_id(emulator, http, graph, sender):
    _send(graph, sender, "First", ["bob@fabrikam.example"])
    _send(graph, sender, "Second", ["bob@fabrikam.example"])
    rows = _traces(graph, sender).json()["value"]
    wanted = rows[1]["messageId"]

    found = _traces(graph, sender, f" and messageId eq '{wanted}'").json()["value"]

    assert [row["subject"] for row in found] == ["Second"]


def test_details_of_failed_recipient(
    emulator, http, graph, sender, graph_sample, assert_same_shape
):
    _control(emulator, http, "POST", "message-traces/config", json={"pendingPolls": 0})
    outcome = {"address": "gone@fabrikam.example", "status": "failed", "detail": "550 5.1.1 gone"}
    _control(emulator, http, "POST", "delivery-outcomes", json=outcome)
    _send(graph, sender, "Bounce", ["gone@fabrikam.example"])
    trace_id = _traces(graph, sender).json()["value"][0]["id"]

    response = graph(
        "GET",
        f"{TRACES}/{trace_id}/getDetailsByRecipient(recipientAddress='gone@fabrikam.example')",
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert_same_shape(graph_sample("messagetrace_getdetailsbyrecipient_response.json"), body)
    assert [event["event"] for event in body["value"]] == ["Receive", "Fail"]
    assert "{LED=550 5.1.1 gone}" in body["value"][1]["description"]


def test_failed_recipient_gets_report_in_inbox(emulator, http, graph, sender):
    outcome = {"address": "gone@fabrikam.example", "status": "failed", "detail": "550 5.1.1 gone"}
    _control(emulator, http, "POST", "delivery-outcomes", json=outcome)
    _send(graph, sender, "Bounce", ["gone@fabrikam.example", "bob@fabrikam.example"])

    listed = graph(
        "GET",
        f"users/{sender['mail']}/mailFolders/inbox/messages",
        params={"$select": "subject,internetMessageHeaders"},
    ).json()["value"]
    assert [item["subject"] for item in listed] == ["Undeliverable: Bounce"]
    headers = {item["name"]: item["value"] for item in listed[0]["internetMessageHeaders"]}
    assert headers["Content-Type"].startswith("multipart/report; report-type=delivery-status")

    raw = graph("GET", f"users/{sender['mail']}/messages/{listed[0]['id']}/$value").content
    report = email.message_from_bytes(raw, policy=email.policy.compat32)
    parts = {part.get_content_type(): part for part in report.walk()}
    blocks = parts["message/delivery-status"].get_payload()
    assert [block["Final-Recipient"] for block in blocks[1:]] == ["rfc822;gone@fabrikam.example"]
    assert blocks[1]["Status"] == "5.1.1"
    assert blocks[1]["Diagnostic-Code"] == "smtp;550 5.1.1 gone"
    assert parts["message/rfc822"].get_payload()[0]["Subject"] == "Bounce"


def test_trace_needs_permission(emulator, http, sender):
    from m365_emulator.directory import GRAPH_RESOURCE, MAILGRIP_CLIENT_ID

    tokens = emulator.emulator.tokens
    token = tokens.app_access_token(
        emulator.emulator.apps[MAILGRIP_CLIENT_ID], GRAPH_RESOURCE, ["Mail.ReadWrite"]
    )
    response = http.get(
        f"{emulator.base_url}/v1.0/{TRACES}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "ExchangeMessageTrace.Read.All" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "query",
    [
        _window(days=11),
        "receivedDateTime ge 2020-01-01T00:00:00Z and receivedDateTime le 2020-01-02T00:00:00Z",
        "receivedDateTime ge 2026-01-01T00:00:00Z",
        "contains(subject, 'x')",
        "size eq 5",
    ],
    ids=["longer-than-10-days", "older-than-90-days", "one-bound", "function", "property"],
)
def test_invalid_filter_rejected(graph, query):
    response = graph("GET", TRACES, params={"$filter": query})
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_throttled_after_limit(emulator, http, graph, sender):
    _control(emulator, http, "POST", "message-traces/config", json={"throttleRequests": 2})

    statuses = [_traces(graph, sender).status_code for _ in range(3)]
    last = _traces(graph, sender)

    assert statuses == [200, 200, 429]
    assert last.status_code == 429
    assert int(last.headers["Retry-After"]) >= 1


def test_outcome_rejected_with_reason(emulator, http):
    response = http.post(
        f"{emulator.base_url}/_emulator/delivery-outcomes",
        json={"address": "bob@fabrikam.example", "status": "bounced"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "bounced" in response.json()["message"]
