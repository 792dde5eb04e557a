"""The authorization code flow of a confidential web app: a "Web" redirect URI whose codes only
the client's secret or certificate, with the PKCE verifier, redeem, over real HTTPS."""

from __future__ import annotations

import secrets
import warnings
from urllib.parse import parse_qs, urlsplit

import jwt
import msal
import pytest
from certificates import make_certificate
from code_flow import code_flow_request

from m365_emulator.auth_codes import s256_challenge

REDIRECT_URI = "http://127.0.0.1:9/admin/signin/callback"
ADMIN_ROLE = "Mailgrip.Admin"


@pytest.fixture
def flow(emulator, sender) -> dict:
    """One authorization request of Mailgrip's confidential client for its own API."""
    emulator.register_web_redirect_uri(REDIRECT_URI)
    emulator.set_app_roles(sender["mail"], [ADMIN_ROLE])
    flow = code_flow_request(emulator, REDIRECT_URI, s256_challenge)
    # msal requests the OpenID Connect scopes too, and sends a nonce for the ID token.
    flow["params"]["scope"] = f"openid profile offline_access {flow['params']['scope']}"
    flow["params"]["nonce"] = "nonce-" + secrets.token_hex(4)
    return flow


def _answer(response) -> dict[str, str]:
    values = parse_qs(urlsplit(response.headers["Location"]).query)
    return {name: value[0] for name, value in values.items()}


def _code(http, flow: dict) -> str:
    form = {
        **flow["params"],
        "username": "adele@contoso.example",
        "password": "Sent-Items-2024",
    }
    response = http.post(flow["authorize"], data=form, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return _answer(response)["code"]


def _redeem(emulator, http, flow: dict, code: str, headers: dict | None = None, **overrides):
    form = {
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow["verifier"],
        **overrides,
    }
    form = {name: value for name, value in form.items() if value is not None}
    return http.post(flow["token"], data=form, headers=headers or {}, timeout=10)


def test_web_code_issues_token_with_roles(emulator, http, flow):
    code = _code(http, flow)

    response = _redeem(emulator, http, flow, code)

    assert response.status_code == 200, response.text
    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == emulator.client_id
    assert claims["scp"] == "access_as_user"
    assert claims["roles"] == [ADMIN_ROLE]
    assert claims["azpacr"] == "1"
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == flow["params"]["nonce"]
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "status", "error", "code"),
    [
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"client_secret": "not-the-secret"}, 401, "invalid_client", 7000215),
        ({"code_verifier": None}, 400, "invalid_grant", 50148),
        ({"code_verifier": "v" * 48}, 400, "invalid_grant", 501481),
    ],
    ids=["no-secret", "wrong-secret", "no-verifier", "wrong-verifier"],
)
def test_web_code_redemption_rejected(emulator, http, flow, overrides, status, error, code):
    authorization_code = _code(http, flow)

    response = _redeem(emulator, http, flow, authorization_code, **overrides)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_codes"] == [code]


def test_rejected_credentials_leave_code_redeemable(emulator, http, flow):
    code = _code(http, flow)

    refused = _redeem(emulator, http, flow, code, client_secret=None)
    redeemed = _redeem(emulator, http, flow, code)

    assert refused.status_code == 401
    assert redeemed.status_code == 200, redeemed.text


def test_web_code_redeemed_once(emulator, http, flow):
    code = _code(http, flow)

    first = _redeem(emulator, http, flow, code)
    second = _redeem(emulator, http, flow, code)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert second.json()["error_codes"] == [54005]


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:9/admin/other-callback", "http://127.0.0.1:9/admin/signin/callback/"],
)
def test_web_code_rejects_other_redirect_uri(emulator, http, flow, redirect_uri):
    emulator.register_web_redirect_uri("http://127.0.0.1:9/admin/other-callback")
    code = _code(http, flow)

    response = _redeem(emulator, http, flow, code, redirect_uri=redirect_uri)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "redirect_uri differs" in response.json()["error_description"]


def test_web_code_rejects_cross_origin_request(emulator, http, flow):
    code = _code(http, flow)

    response = _redeem(emulator, http, flow, code, headers={"Origin": "http://127.0.0.1:9"})

    assert response.status_code == 400
    assert response.json()["error_codes"] == [9002326]


def test_authorize_needs_code_challenge(http, flow):
    form = {**flow["params"], "code_challenge": "", "username": "x", "password": "y"}

    response = http.post(flow["authorize"], data=form, allow_redirects=False, timeout=10)

    assert response.status_code == 302
    assert _answer(response)["error"] == "invalid_request"


def test_cancel_redirects_with_access_denied(http, flow):
    form = {**flow["params"], "cancel": "1"}

    response = http.post(flow["authorize"], data=form, allow_redirects=False, timeout=10)

    answer = _answer(response)
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert answer["error"] == "access_denied"
    assert answer["error_description"].startswith("AADSTS65004")
    assert answer["state"] == flow["params"]["state"]
    assert "code" not in answer


def test_msal_redeems_with_certificate(emulator, http, flow):
    key_pem, certificate_pem = make_certificate()
    emulator.register_certificate(certificate_pem.encode())
    app = msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential={"private_key": key_pem, "public_certificate": certificate_pem},
        authority=f"{emulator.base_url}/{emulator.tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    with warnings.catch_warnings():
        # msal recommends form_post, but the emulator returns the code in the query.
        warnings.filterwarnings("ignore", "response_mode='form_post'", UserWarning)
        started = app.initiate_auth_code_flow(
            [f"api://{emulator.client_id}/access_as_user"], redirect_uri=REDIRECT_URI
        )
    authorize = urlsplit(started["auth_uri"])
    params = {name: value[0] for name, value in parse_qs(authorize.query).items()}
    signed_in = http.post(
        started["auth_uri"].split("?")[0],
        data={**params, "username": "adele@contoso.example", "password": "Sent-Items-2024"},
        allow_redirects=False,
        timeout=10,
    )

    result = app.acquire_token_by_auth_code_flow(started, _answer(signed_in))

    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["roles"] == [ADMIN_ROLE]


@pytest.mark.parametrize("uri", ["https://mailgrip.example.org/admin/signin/callback", "x"])
def test_control_rejects_bad_web_redirect_uri(emulator, http, uri):
    url = f"{emulator.base_url}/_emulator/apps/{emulator.client_id}/web-redirect-uris"

    response = http.post(url, json={"uri": uri}, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


def test_control_registers_web_redirect_uri(emulator, http):
    url = f"{emulator.base_url}/_emulator/apps/{emulator.client_id}/web-redirect-uris"

    response = http.post(url, json={"uri": "http://127.0.0.1:9/web-callback"}, timeout=10)

    assert response.status_code == 200
    assert "http://127.0.0.1:9/web-callback" in response.json()["webRedirectUris"]
    assert "http://127.0.0.1:9/web-callback" not in response.json()["spaRedirectUris"]


def test_public_client_cannot_redeem_web_code(emulator, http, flow):
    # A client without a secret or certificate has nothing to prove itself with, so a web
    # redirect URI of it gets codes that no client can redeem.
    emulator.register_web_redirect_uri(REDIRECT_URI, client_id=emulator.public_client_id)
    flow["params"]["client_id"] = emulator.public_client_id
    code = _code(http, flow)

    response = _redeem(
        emulator, http, flow, code, client_id=emulator.public_client_id, client_secret=None
    )

    assert response.status_code == 401
    assert response.json()["error_codes"] == [7000218]
