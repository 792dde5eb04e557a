"""schemathesis against ``/api/openapi.json`` of a live Mailgrip, with a real bearer token.

Every operation of the document gets generated requests. Requests that match the document
(positive) must get responses with the status codes and schemas it declares. Requests that
break it (negative) must be rejected. Neither may end in a 5xx.
"""

from __future__ import annotations

import re

import pytest
import requests
import schemathesis
from builders import make_share
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from mailgrip.db import db
from mailgrip.mirror.models import Mailbox

# Examples per operation: enough to reach the validation branches, few enough that both runs
# together take well under a minute. A one-off run with 200 found no failure either.
MAX_EXAMPLES = 25
CHECKS = {
    schemathesis.GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ],
    # A request that breaks the document may get any 4xx, declared or not.
    schemathesis.GenerationMode.NEGATIVE: [not_a_server_error],
}


def _openapi_path(flask_rule: str) -> str:
    """Turn ``/api/messages/<id:message_id>`` into ``/api/messages/{messageId}``."""

    def camel(match: re.Match[str]) -> str:
        head, *rest = match.group(1).split("_")
        return "{" + head + "".join(part.title() for part in rest) + "}"

    return re.sub(r"<(?:\w+:)?(\w+)>", camel, flask_rule)


def test_document_lists_every_route(app, client):
    document = client.get("/api/openapi.json").get_json()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (method, _openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule != "/api/openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert documented == served


@pytest.fixture
def seeded(client, alice_headers):
    """A message, share and block of the caller, so some generated ids exist."""
    mailbox_response = client.get("/api/messages", headers=alice_headers)
    assert mailbox_response.status_code == 200
    mailbox = db.session.query(Mailbox).one()
    built = make_share(mailbox, recipients=["carol@fabrikam.example"])
    block = client.post(
        f"/api/messages/{built.message.id}/blocks", json={"scope": "all"}, headers=alice_headers
    )
    assert block.status_code == 201
    return built


@pytest.mark.parametrize("mode", list(CHECKS), ids=lambda mode: mode.value)
def test_no_operation_fails(live_server, alice_headers, seeded, mode):
    document = requests.get(f"{live_server.url}/api/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def exercise(case) -> None:
            case.call_and_validate(
                base_url=live_server.url,
                session=session,
                headers=alice_headers,
                checks=CHECKS[mode],
            )

        try:
            exercise()
        except Exception as error:  # noqa: BLE001 (collects every operation's failure)
            failures.append(f"{operation.label}: {error}")

    assert failures == []
