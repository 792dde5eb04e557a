"""Graph's List groups in the emulator: the distribution lists of delivery outcomes."""

from __future__ import annotations

import pytest

LIST = "Sales@Contoso.example"


def _control(emulator, http, method: str, path: str, **kwargs):
    response = http.request(method, f"{emulator.base_url}/_emulator/{path}", timeout=10, **kwargs)
    assert response.status_code < 400, response.text
    return response


@pytest.fixture
def sales_list(emulator, http) -> None:
    _control(emulator, http, "POST", "delivery-outcomes", json={
        "address": LIST, "status": "expanded", "members": ["erin@contoso.example"],
    })


@pytest.mark.parametrize("query", [
    "mail eq 'sales@contoso.example'",
    "proxyAddresses/any(p:p eq 'smtp:SALES@contoso.example')",
    "proxyAddresses/any(x:x eq 'SMTP:sales@contoso.example')",
])
def test_list_found_by_address(emulator, graph, sales_list, query):
    response = graph("GET", "groups", params={"$filter": query})

    assert response.status_code == 200, response.text
    (group,) = response.json()["value"]
    assert group["mail"] == LIST
    assert group["mailEnabled"] is True
    assert group["securityEnabled"] is False
    assert group["proxyAddresses"] == [f"SMTP:{LIST}"]


def test_group_id_stable(emulator, graph, sales_list):
    query = {"$filter": "mail eq 'sales@contoso.example'"}

    first = graph("GET", "groups", params=query).json()["value"][0]["id"]
    second = graph("GET", "groups", params=query).json()["value"][0]["id"]

    assert first == second


@pytest.mark.parametrize("outcome", [
    {"address": "bob@contoso.example", "status": "delivered"},
    {"address": "team@contoso.example", "status": "expanded"},
])
def test_other_addresses_not_groups(emulator, http, graph, outcome):
    _control(emulator, http, "POST", "delivery-outcomes", json=outcome)

    response = graph("GET", "groups", params={"$filter": f"mail eq '{outcome['address']}'"})

    assert response.status_code == 200, response.text
    assert response.json()["value"] == []


@pytest.mark.parametrize("query", ["", "displayName eq 'Sales'", "mail eq sales@contoso.example"])
def test_unsupported_filter_rejected(emulator, graph, query):
    response = graph("GET", "groups", params={"$filter": query})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_groups_need_permission(emulator, http):
    from m365_emulator.directory import GRAPH_RESOURCE, MAILGRIP_CLIENT_ID

    token = emulator.emulator.tokens.app_access_token(
        emulator.emulator.apps[MAILGRIP_CLIENT_ID], GRAPH_RESOURCE, ["Mail.ReadWrite"]
    )
    response = http.get(
        f"{emulator.base_url}/v1.0/groups",
        params={"$filter": "mail eq 'sales@contoso.example'"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"
