"""The emulated identity platform, driven by the real msal library and checked with PyJWT."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import msal
import pytest
import requests

from m365_emulator.server import EmulatorServer

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
PASSWORD = "Sent-Items-2024"


def _session(ca_path: Path) -> requests.Session:
    session = requests.Session()
    session.verify = str(ca_path)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace session.verify
    return session


def _confidential_app(
    server, http, secret: str | None = None
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=secret or server.client_secret,
        authority=f"{server.base_url}/{server.tenant_id}",
        http_client=http,
        instance_discovery=False,
    )


def _public_app(server, http) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        server.public_client_id,
        authority=f"{server.base_url}/{server.tenant_id}",
        http_client=http,
        instance_discovery=False,
    )


def _password_grant(app: msal.PublicClientApplication, address: str, password: str, scopes):
    # msal 1.39 marks the password grant of public clients as deprecated.
    with pytest.warns(DeprecationWarning, match="deprecated for public client flows"):
        return app.acquire_token_by_username_password(address, password, scopes=scopes)


def _verify(server, http, token: str, audience: str) -> dict:
    """Verify a token the way a resource does: JWKS from the OpenID configuration."""
    config = http.get(
        f"{server.base_url}/{server.tenant_id}/v2.0/.well-known/openid-configuration", timeout=10
    ).json()
    keys = http.get(config["jwks_uri"], timeout=10).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(item for item in keys if item["kid"] == kid), algorithm="RS256")
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=config["issuer"])


@pytest.fixture(scope="module")
def emulator_on_443(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """An emulator on 127.0.0.1:443, where msal's password grant can reach it.

    msal 1.39 sends its user realm request to the authority host without the port, so the
    password grant only works when the authority listens on 443.
    """
    server = EmulatorServer(tmp_path_factory.mktemp("emulator443"), port=443)
    try:
        server.start()
    except OSError as error:
        pytest.skip(f"127.0.0.1:443 is not available for the emulator ({error})")
    yield server
    server.stop()


@pytest.fixture
def user_on_443(emulator_on_443) -> Iterator[dict]:
    user = emulator_on_443.create_user("alice@contoso.example", "Alice Sender", PASSWORD)
    yield user
    emulator_on_443.reset()


def test_openid_configuration_names_tenant_endpoints(emulator, http):
    base, tenant = emulator.base_url, emulator.tenant_id
    config = http.get(f"{base}/{tenant}/v2.0/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == f"{base}/{tenant}/v2.0"
    assert config["token_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/authorize"
    assert config["jwks_uri"] == f"{base}/{tenant}/discovery/v2.0/keys"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in config["scopes_supported"]


@pytest.mark.parametrize("tenant", ["organizations", "common"])
def test_openid_configuration_multi_tenant(emulator, http, tenant):
    url = f"{emulator.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
    config = http.get(url, timeout=10).json()
    assert config["token_endpoint"] == f"{emulator.base_url}/{tenant}/oauth2/v2.0/token"
    assert config["issuer"] == f"{emulator.base_url}/{{tenantid}}/v2.0"


def test_openid_configuration_unknown_tenant(emulator, http):
    url = f"{emulator.base_url}/not-a-tenant/v2.0/.well-known/openid-configuration"
    response = http.get(url, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_tenant"


def test_jwks_publishes_rsa_signing_keys(emulator, http):
    keys = http.get(
        f"{emulator.base_url}/{emulator.tenant_id}/discovery/v2.0/keys", timeout=10
    ).json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["use"] == "sig"
        assert {"kid", "x5t", "n", "e"} <= set(key)


def test_user_realm_reports_managed_domain(emulator, http, sender):
    response = http.get(
        f"{emulator.base_url}/common/userrealm/{sender['mail']}?api-version=1.0", timeout=10
    )
    body = response.json()
    assert body["account_type"] == "Managed"
    assert body["domain_name"] == "contoso.example"
    assert body["cloud_audience_urn"] == "urn:federation:MicrosoftOnline"


def test_client_credentials_through_msal(emulator, http):
    result = _confidential_app(emulator, http).acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert "access_token" in result, result
    claims = _verify(emulator, http, result["access_token"], "https://graph.microsoft.com")
    assert claims["roles"] == [
        "Mail.ReadWrite", "Mail.Send", "ExchangeMessageTrace.Read.All", "GroupMember.Read.All"
    ]
    assert "scp" not in claims
    assert claims["tid"] == emulator.tenant_id
    assert claims["azp"] == emulator.client_id
    assert claims["ver"] == "2.0"
    assert claims["exp"] - claims["iat"] == 3600


def test_client_credentials_wrong_secret(emulator, http):
    app = _confidential_app(emulator, http, secret="not-the-secret")
    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert "AADSTS7000215" in result["error_description"]
    assert result["correlation_id"]


def test_client_credentials_unknown_resource(emulator, http):
    result = _confidential_app(emulator, http).acquire_token_for_client(
        scopes=["https://unknown.example/.default"]
    )
    assert result["error"] in ("invalid_scope", "invalid_resource")


def test_client_credentials_http_basic(emulator, http):
    response = http.post(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": GRAPH_DEFAULT},
        auth=(emulator.client_id, emulator.client_secret),
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_token_error_body_fields(emulator, http):
    response = http.post(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": emulator.client_id},
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 401
    for field in ("error", "error_description", "error_codes", "timestamp", "trace_id"):
        assert field in body
    assert "correlation_id" in body


def test_password_grant_through_msal(emulator_on_443, user_on_443):
    server = emulator_on_443
    http = _session(server.ca_path)
    app = _public_app(server, http)
    scopes = [f"api://{server.client_id}/access_as_user"]
    result = _password_grant(app, user_on_443["mail"], PASSWORD, scopes)
    assert "access_token" in result, result
    claims = _verify(server, http, result["access_token"], server.client_id)
    assert claims["scp"] == "access_as_user"
    assert claims["oid"] == user_on_443["id"]
    assert claims["preferred_username"] == "alice@contoso.example"
    assert claims["name"] == "Alice Sender"
    assert claims["azp"] == server.public_client_id
    assert result["refresh_token"]
    assert result["id_token_claims"]["aud"] == server.public_client_id
    account = app.get_accounts()[0]
    assert account["home_account_id"] == f"{user_on_443['id']}.{server.tenant_id}"
    silent = app.acquire_token_silent(scopes, account=account)
    assert silent["access_token"] == result["access_token"]


def test_password_grant_wrong_password(emulator_on_443, user_on_443):
    server = emulator_on_443
    app = _public_app(server, _session(server.ca_path))
    scopes = [f"api://{server.client_id}/access_as_user"]
    result = _password_grant(app, user_on_443["mail"], "wrong", scopes)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50126]


def test_password_grant_graph_scopes(emulator_on_443, user_on_443):
    server = emulator_on_443
    http = _session(server.ca_path)
    app = _public_app(server, http)
    scopes = ["https://graph.microsoft.com/Mail.Read"]
    result = _password_grant(app, user_on_443["mail"], PASSWORD, scopes)
    claims = _verify(server, http, result["access_token"], "https://graph.microsoft.com")
    assert claims["scp"] == "Mail.Read"


def _raw_password_grant(server, http, address: str, scope: str) -> requests.Response:
    """The password grant as msal sends it, without msal's user realm request."""
    return http.post(
        f"{server.base_url}/{server.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": server.public_client_id,
            "username": address,
            "password": PASSWORD,
            "scope": scope,
            "client_info": "1",
        },
        timeout=10,
    )


def test_password_grant_returns_client_info(emulator, http, sender):
    scope = f"api://{emulator.client_id}/access_as_user openid profile offline_access"
    body = _raw_password_grant(emulator, http, sender["mail"], scope).json()
    padded = body["client_info"] + "=" * (-len(body["client_info"]) % 4)
    info = json.loads(base64.urlsafe_b64decode(padded))
    assert info == {"uid": sender["id"], "utid": emulator.tenant_id}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["ext_expires_in"] == 3600
    assert body["scope"] == f"api://{emulator.client_id}/access_as_user"
    id_claims = _verify(emulator, http, body["id_token"], emulator.public_client_id)
    assert id_claims["oid"] == sender["id"]


def test_refresh_token_grant(emulator, http, sender):
    scope = f"api://{emulator.client_id}/access_as_user offline_access"
    first = _raw_password_grant(emulator, http, sender["mail"], scope).json()
    response = http.post(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": emulator.public_client_id,
            "refresh_token": first["refresh_token"],
        },
        timeout=10,
    )
    assert response.status_code == 200
    claims = _verify(emulator, http, response.json()["access_token"], emulator.client_id)
    assert claims["oid"] == sender["id"]


def test_refresh_token_of_another_client(emulator, http, sender):
    scope = f"api://{emulator.client_id}/access_as_user offline_access"
    first = _raw_password_grant(emulator, http, sender["mail"], scope).json()
    response = http.post(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "refresh_token": first["refresh_token"],
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_on_behalf_of_through_msal(emulator, http, sender):
    user_token = emulator.api_token(sender["mail"])
    app = _confidential_app(emulator, http)
    result = app.acquire_token_on_behalf_of(user_token, scopes=[GRAPH_DEFAULT])
    assert "access_token" in result, result
    claims = _verify(emulator, http, result["access_token"], "https://graph.microsoft.com")
    assert claims["oid"] == sender["id"]
    assert claims["scp"] == "Mail.Read Mail.Send Mail.Read.Shared"
    assert claims["azp"] == emulator.client_id


def test_on_behalf_of_rejects_foreign_signature(emulator, http, sender):
    forged = emulator.mint_token(user=sender["mail"], key=emulator.foreign_key)
    result = _confidential_app(emulator, http).acquire_token_on_behalf_of(
        forged, scopes=[GRAPH_DEFAULT]
    )
    assert result["error"] == "invalid_grant"


def test_on_behalf_of_rejects_other_audience(emulator, http, sender):
    token = emulator.mint_token({"aud": "https://graph.microsoft.com"}, user=sender["mail"])
    result = _confidential_app(emulator, http).acquire_token_on_behalf_of(
        token, scopes=[GRAPH_DEFAULT]
    )
    assert result["error"] == "invalid_grant"


def test_mint_token_claims_and_header(emulator, http, sender):
    token = emulator.mint_token(user=sender["mail"])
    header = jwt.get_unverified_header(token)
    claims = _verify(emulator, http, token, emulator.client_id)
    assert header["typ"] == "JWT"
    assert header["kid"] == emulator.current_kid
    assert claims["iss"] == f"{emulator.base_url}/{emulator.tenant_id}/v2.0"
    assert claims["scp"] == "access_as_user"
    for name in ("tid", "oid", "sub", "azp", "azpacr", "uti", "nbf", "iat", "exp"):
        assert name in claims


def test_mint_token_expired_and_removed_claims(emulator, http, sender):
    expired = emulator.mint_token(user=sender["mail"], lifetime=-120)
    without_tid = emulator.mint_token({"tid": None}, user=sender["mail"])
    with pytest.raises(jwt.ExpiredSignatureError):
        _verify(emulator, http, expired, emulator.client_id)
    assert "tid" not in jwt.decode(without_tid, options={"verify_signature": False})


def test_key_rotation_keeps_old_key_published(emulator, http, sender):
    old_token = emulator.mint_token(user=sender["mail"])
    old_kid = emulator.current_kid
    response = http.post(f"{emulator.base_url}/_emulator/keys/rotate", timeout=10)
    new_kid = response.json()["kid"]
    new_token = emulator.mint_token(user=sender["mail"])
    assert new_kid != old_kid
    assert response.json()["published"] == [new_kid, old_kid]
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert _verify(emulator, http, old_token, emulator.client_id)["oid"] == sender["id"]
    assert _verify(emulator, http, new_token, emulator.client_id)["oid"] == sender["id"]


def test_tokens_expire_after_an_hour(emulator, sender):
    claims = jwt.decode(
        emulator.mint_token(user=sender["mail"]), options={"verify_signature": False}
    )
    assert abs(claims["exp"] - (time.time() + 3600)) < 60
