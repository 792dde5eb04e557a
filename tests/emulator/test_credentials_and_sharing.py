"""Emulator: certificate client assertions at the token endpoint, and shared-mailbox access."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from certificates import make_certificate
from cryptography.hazmat.primitives import serialization

from m365_emulator.client_assertions import CLIENT_ASSERTION_TYPE
from m365_emulator.directory import GRAPH_RESOURCE, PUBLIC_CLIENT_ID
from m365_emulator.tokens import TokenUser


@pytest.fixture
def certificate(emulator):
    key_pem, certificate_pem = make_certificate()
    registered = emulator.register_certificate(certificate_pem.encode())
    return key_pem, registered


def _assertion(emulator, key_pem: str, thumbprint_hex: str, **overrides) -> str:
    endpoint = f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token"
    now = int(time.time())
    claims = {
        "aud": endpoint,
        "iss": emulator.client_id,
        "sub": emulator.client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    x5t = jwt.utils.base64url_encode(bytes.fromhex(thumbprint_hex)).decode()
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": x5t})


def _token_request(emulator, http, assertion: str, **form):
    data = {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "scope": f"{GRAPH_RESOURCE}/.default",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        **form,
    }
    return http.post(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token", data=data, timeout=10
    )


def test_client_assertion_issues_app_token(emulator, http, certificate):
    key_pem, registered = certificate

    response = _token_request(
        emulator, http, _assertion(emulator, key_pem, registered["thumbprint"])
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"exp": int(time.time()) - 3600}, 700024),
        ({"aud": "https://login.example.invalid/token"}, 700021),
        ({"iss": PUBLIC_CLIENT_ID, "sub": PUBLIC_CLIENT_ID}, 700023),
    ],
    ids=["expired", "other_audience", "other_client"],
)
def test_bad_client_assertion_rejected(emulator, http, certificate, overrides, code):
    key_pem, registered = certificate

    response = _token_request(
        emulator, http, _assertion(emulator, key_pem, registered["thumbprint"], **overrides)
    )

    assert response.status_code == 401
    assert response.json()["error_codes"] == [code]


def test_assertion_signed_by_other_key_rejected(emulator, http, certificate):
    _, registered = certificate
    other_key, _ = make_certificate()

    response = _token_request(
        emulator, http, _assertion(emulator, other_key, registered["thumbprint"])
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_assertion_and_secret_together_rejected(emulator, http, certificate):
    key_pem, registered = certificate

    response = _token_request(
        emulator,
        http,
        _assertion(emulator, key_pem, registered["thumbprint"]),
        client_secret=emulator.client_secret,
    )

    assert response.status_code == 400
    assert response.json()["error_codes"] == [7000226]


def test_certificate_control_route(emulator, http):
    _, certificate_pem = make_certificate()

    created = http.post(
        f"{emulator.base_url}/_emulator/apps/{emulator.client_id}/certificates",
        data=certificate_pem,
        timeout=10,
    )
    invalid = http.post(
        f"{emulator.base_url}/_emulator/apps/{emulator.client_id}/certificates",
        data="not a certificate",
        timeout=10,
    )

    assert created.status_code == 201
    assert len(created.json()["thumbprint"]) == 40
    assert invalid.status_code == 400


def _delegated_graph_token(emulator, user: dict, scopes: tuple[str, ...]) -> str:
    token_user = TokenUser(user["id"], user["mail"], user["displayName"])
    client = emulator.emulator.apps[emulator.client_id]
    return emulator.emulator.tokens.user_access_token(token_user, client, GRAPH_RESOURCE, scopes)


@pytest.fixture
def owner_and_delegate(emulator):
    owner = emulator.create_user("shared@contoso.example", "Shared Desk", "pw-owner")
    delegate = emulator.create_user("erin@contoso.example", "Erin Delegate", "pw-delegate")
    return owner, delegate


def _sent_items(emulator, http, owner: dict, token: str):
    return http.get(
        f"{emulator.base_url}/v1.0/users/{owner['id']}/mailFolders/sentitems",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_shared_mailbox_needs_full_access(emulator, http, owner_and_delegate):
    owner, delegate = owner_and_delegate
    token = _delegated_graph_token(emulator, delegate, ("Mail.Read.Shared",))

    before = _sent_items(emulator, http, owner, token)
    emulator.set_mailbox_access(owner["mail"], delegate["mail"])
    granted = _sent_items(emulator, http, owner, token)
    emulator.set_mailbox_access(owner["mail"], delegate["mail"], granted=False)
    removed = _sent_items(emulator, http, owner, token)

    assert before.status_code == 403
    assert granted.status_code == 200
    assert granted.json()["displayName"] == "Sent Items"
    assert removed.status_code == 403


def test_shared_mailbox_needs_shared_scope(emulator, http, owner_and_delegate):
    owner, delegate = owner_and_delegate
    emulator.set_mailbox_access(owner["mail"], delegate["mail"])
    token = _delegated_graph_token(emulator, delegate, ("Mail.Read",))

    assert _sent_items(emulator, http, owner, token).status_code == 403


def test_mailbox_permission_control_route(emulator, http, owner_and_delegate):
    owner, delegate = owner_and_delegate
    url = f"{emulator.base_url}/_emulator/mailboxes/{owner['mail']}/permissions"

    added = http.post(url, json={"user": delegate["mail"]}, timeout=10)
    has_access = emulator.emulator.state.has_full_access(owner["id"], delegate["id"])
    removed = http.delete(url, json={"user": delegate["mail"]}, timeout=10)

    assert added.status_code == 200
    assert has_access
    assert removed.json()["fullAccess"] is False
    assert not emulator.emulator.state.has_full_access(owner["id"], delegate["id"])


def _password_token(emulator, http, address: str, scope: str) -> dict:
    response = http.post(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": PUBLIC_CLIENT_ID,
            "username": address,
            "password": "pw-owner",
            "scope": scope,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})


def test_app_roles_only_in_api_tokens(emulator, http, owner_and_delegate):
    owner, _ = owner_and_delegate
    emulator.set_app_roles(owner["mail"], ["Mailgrip.Admin"])

    api_claims = _password_token(
        emulator, http, owner["mail"], f"api://{emulator.client_id}/access_as_user"
    )
    graph_claims = _password_token(emulator, http, owner["mail"], "User.Read")

    assert api_claims["roles"] == ["Mailgrip.Admin"]
    assert "roles" not in graph_claims


def test_app_roles_control_route(emulator, http, owner_and_delegate):
    owner, _ = owner_and_delegate
    url = f"{emulator.base_url}/_emulator/users/{owner['mail']}/app-roles"

    assigned = http.put(url, json={"roles": ["Mailgrip.Admin"]}, timeout=10)
    invalid = http.put(url, json={"roles": "Mailgrip.Admin"}, timeout=10)

    assert assigned.json()["roles"] == ["Mailgrip.Admin"]
    assert invalid.status_code == 400
