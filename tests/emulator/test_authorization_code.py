"""The authorization code flow with PKCE: the authorize endpoint, its sign-in form and the
token endpoint's authorization_code grant, over real HTTPS."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from code_flow import code_flow_request

PASSWORD = "Sent-Items-2024"
REDIRECT_URI = "http://127.0.0.1:9/taskpane/signin-dialog"
ORIGIN = "http://127.0.0.1:9"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@pytest.fixture
def flow(emulator, http, sender) -> Iterator[dict]:
    """The parameters of one authorization request by the task pane's sign-in dialog."""
    emulator.register_spa_redirect_uri(REDIRECT_URI)
    yield code_flow_request(emulator, REDIRECT_URI, _challenge)


def _sign_in(http, flow: dict, password: str = PASSWORD, **overrides: str):
    """Post the sign-in form as the browser does, without following the redirect."""
    credentials = {"username": "adele@contoso.example", "password": password}
    form = {**flow["params"], **overrides, **credentials}
    return http.post(flow["authorize"], data=form, allow_redirects=False, timeout=10)


def _answer(response) -> dict[str, str]:
    """The parameters that the redirect carries in its query or fragment."""
    location = urlsplit(response.headers["Location"])
    values = parse_qs(location.query or location.fragment)
    return {name: value[0] for name, value in values.items()}


def _code(http, flow: dict) -> str:
    response = _sign_in(http, flow)
    assert response.status_code == 302, response.text
    return _answer(response)["code"]


def _redeem(http, flow: dict, code: str, origin: str | None = ORIGIN, **overrides: str):
    form = {
        "client_id": flow["params"]["client_id"],
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow["verifier"],
        "scope": flow["params"]["scope"],
        **overrides,
    }
    headers = {"Origin": origin} if origin else {}
    return http.post(flow["token"], data=form, headers=headers, timeout=10)


def test_authorize_shows_sign_in_form(http, flow):
    response = http.get(flow["authorize"], params=flow["params"], timeout=10)

    assert response.status_code == 200
    assert 'name="password"' in response.text
    assert f'value="{flow["params"]["code_challenge"]}"' in response.text


def test_code_flow_issues_api_token(emulator, http, flow):
    signed_in = _sign_in(http, flow)
    answer = _answer(signed_in)

    response = _redeem(http, flow, answer["code"])

    assert answer["state"] == flow["params"]["state"]
    assert signed_in.headers["Location"].startswith(REDIRECT_URI + "?")
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == emulator.client_id
    assert claims["scp"] == "access_as_user"
    assert claims["preferred_username"] == "adele@contoso.example"


def test_fragment_response_mode(http, flow):
    response = _sign_in(http, flow, response_mode="fragment")

    assert response.headers["Location"].startswith(REDIRECT_URI + "#code=")
    assert _answer(response)["state"] == flow["params"]["state"]


def test_wrong_verifier_is_rejected(http, flow):
    code = _code(http, flow)

    response = _redeem(http, flow, code, code_verifier=secrets.token_urlsafe(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.json()["error_codes"] == [501481]


def test_short_verifier_is_rejected(http, flow):
    # RFC 7636 requires at least 43 characters, even when the challenge would match.
    short = "too-short"
    flow["params"]["code_challenge"] = _challenge(short)
    code = _code(http, flow)

    response = _redeem(http, flow, code, code_verifier=short)

    assert response.json()["error_codes"] == [501481]


def test_code_is_single_use(http, flow):
    code = _code(http, flow)

    first = _redeem(http, flow, code)
    second = _redeem(http, flow, code)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error_codes"] == [54005]


def test_expired_code_is_rejected(emulator, http, flow):
    emulator.emulator.codes.lifetime = 0
    try:
        code = _code(http, flow)
        response = _redeem(http, flow, code)
    finally:
        emulator.emulator.codes.lifetime = 600

    assert response.status_code == 400
    assert response.json()["error_codes"] == [70008]


def test_unknown_code_is_rejected(http, flow):
    response = _redeem(http, flow, secrets.token_urlsafe(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_authorize_without_client_gets_error_page(emulator, http):
    url = f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/authorize"

    response = http.get(url, allow_redirects=False, timeout=10)

    assert response.status_code == 400
    assert "AADSTS700016" in response.text


def test_unregistered_redirect_gets_error_page(http, flow):
    params = {**flow["params"], "redirect_uri": "http://127.0.0.1:9/elsewhere"}

    shown = http.get(flow["authorize"], params=params, allow_redirects=False, timeout=10)
    posted = _sign_in(http, flow, redirect_uri="http://127.0.0.1:9/elsewhere")

    for response in (shown, posted):
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "AADSTS50011" in response.text


def test_token_redirect_must_match_request(http, flow):
    code = _code(http, flow)

    response = _redeem(http, flow, code, redirect_uri="http://127.0.0.1:9/elsewhere")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "api://unknown-api/access_as_user"}, "invalid_resource"),
    ],
)
def test_invalid_request_redirects_with_error(http, flow, overrides, error):
    response = _sign_in(http, flow, **overrides)

    answer = _answer(response)
    assert response.status_code == 302
    assert answer["error"] == error
    assert answer["state"] == flow["params"]["state"]
    assert "code" not in answer


def test_wrong_password_shows_form_again(http, flow):
    response = _sign_in(http, flow, password="wrong")

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "incorrect" in response.text


def test_redemption_needs_cross_origin_request(http, flow):
    code = _code(http, flow)

    response = _redeem(http, flow, code, origin=None)

    assert response.json()["error_codes"] == [9002327]


def test_redemption_rejects_client_secret(emulator, http, flow):
    code = _code(http, flow)

    response = _redeem(http, flow, code, client_secret=emulator.client_secret)

    assert response.status_code == 400
    assert response.json()["error_codes"] == [90023]


def test_other_origin_cannot_read_token_response(http, flow):
    code = _code(http, flow)

    response = _redeem(http, flow, code, origin="http://127.0.0.1:10")

    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    "uri", ["https://mailgrip.example.org/taskpane/signin-dialog", "http://127.0.0.1:9/a#b", "x"]
)
def test_control_rejects_bad_redirect_uri(emulator, http, uri):
    url = f"{emulator.base_url}/_emulator/apps/{emulator.client_id}/spa-redirect-uris"

    response = http.post(url, json={"uri": uri}, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
