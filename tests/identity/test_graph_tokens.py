"""Graph tokens through msal: secret or certificate, on-behalf-of, cache reuse, safe logging.

msal talks to the emulator's token endpoint over HTTPS; nothing here is mocked.
"""

from __future__ import annotations

import logging

import jwt
import pytest
from certificates import make_certificate
from http_helpers import CountingSession

from mailgrip.config import Settings
from mailgrip.demo.run import emulator_environ
from mailgrip.identity.msal_app import GraphTokenProvider, TokenAcquisitionFailed


def _settings(emulator, tmp_path, **variables: str) -> Settings:
    environ = emulator_environ(emulator, tmp_path / "files", "http://127.0.0.1:5000")
    environ.update(variables)
    return Settings.from_env(tmp_path, {k: v for k, v in environ.items() if v is not None})


def _token_requests(session: CountingSession) -> list[str]:
    return [url for url in session.urls if url.endswith("/oauth2/v2.0/token")]


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def session(emulator) -> CountingSession:
    return CountingSession(str(emulator.ca_path))


def test_app_token_reused_from_cache(emulator, tmp_path, session):
    provider = GraphTokenProvider(_settings(emulator, tmp_path), session)

    first = provider.app_token()
    second = provider.app_token()

    assert first == second
    assert len(_token_requests(session)) == 1
    assert "Mail.ReadWrite" in _claims(first)["roles"]


@pytest.mark.parametrize("named_by", ["certificate", "thumbprint"])
def test_certificate_credential_gets_app_token(emulator, tmp_path, session, named_by):
    key_pem, certificate_pem = make_certificate()
    registered = emulator.register_certificate(certificate_pem.encode())
    variables = {"MAILGRIP_CLIENT_SECRET": "", "MAILGRIP_CLIENT_CERTIFICATE_KEY": key_pem}
    if named_by == "certificate":
        variables["MAILGRIP_CLIENT_CERTIFICATE"] = certificate_pem
    else:
        variables["MAILGRIP_CLIENT_CERTIFICATE_THUMBPRINT"] = registered["thumbprint"]
    settings = _settings(emulator, tmp_path, **variables)
    provider = GraphTokenProvider(settings, session)

    token = provider.app_token()

    assert settings.uses_client_certificate
    assert _claims(token)["azp"] == emulator.client_id
    assert _claims(token)["azpacr"] == "1"


def test_unregistered_certificate_rejected(emulator, tmp_path, session, caplog):
    key_pem, certificate_pem = make_certificate()
    settings = _settings(
        emulator,
        tmp_path,
        MAILGRIP_CLIENT_SECRET="",
        MAILGRIP_CLIENT_CERTIFICATE_KEY=key_pem,
        MAILGRIP_CLIENT_CERTIFICATE=certificate_pem,
    )
    provider = GraphTokenProvider(settings, session)

    with caplog.at_level(logging.ERROR, logger="mailgrip.identity.msal_app"):
        with pytest.raises(TokenAcquisitionFailed) as raised:
            provider.app_token()

    assert raised.value.detail["correlation_id"]
    assert "error=invalid_client" in caplog.text
    assert "AADSTS700027" in caplog.text
    assert f"correlation_id={raised.value.detail['correlation_id']}" in caplog.text


def test_wrong_secret_logged_without_secret(emulator, tmp_path, session, caplog):
    wrong_secret = "wrong-secret-value-that-must-not-be-logged"
    provider = GraphTokenProvider(
        _settings(emulator, tmp_path, MAILGRIP_CLIENT_SECRET=wrong_secret), session
    )

    with caplog.at_level(logging.DEBUG):
        with pytest.raises(TokenAcquisitionFailed):
            provider.app_token()

    assert "AADSTS7000215" in caplog.text
    assert wrong_secret not in caplog.text


@pytest.fixture
def dana(emulator):
    created = emulator.create_user(
        "dana@contoso.example", "Dana Tester", "correct horse battery staple"
    )
    return created


def test_on_behalf_of_token_acts_for_user(emulator, tmp_path, session, dana):
    provider = GraphTokenProvider(_settings(emulator, tmp_path), session)
    api_token = emulator.api_token(dana["mail"])

    graph_token = provider.token_on_behalf_of(api_token, f"{dana['id']}.{emulator.tenant_id}")

    assert _claims(graph_token)["oid"] == dana["id"]
    assert "scp" in _claims(graph_token)


def test_on_behalf_of_reused_from_cache(emulator, tmp_path, session, dana):
    provider = GraphTokenProvider(_settings(emulator, tmp_path), session)
    account = f"{dana['id']}.{emulator.tenant_id}"

    first = provider.token_on_behalf_of(emulator.api_token(dana["mail"]), account)
    second = provider.token_on_behalf_of(emulator.api_token(dana["mail"]), account)

    assert first == second
    assert len(_token_requests(session)) == 1


def test_on_behalf_of_failure_never_logs_tokens(emulator, tmp_path, session, dana, caplog):
    provider = GraphTokenProvider(_settings(emulator, tmp_path), session)
    good_token = emulator.api_token(dana["mail"])
    expired_token = emulator.mint_token(user=dana["mail"], lifetime=-3600)

    with caplog.at_level(logging.DEBUG):
        graph_token = provider.token_on_behalf_of(good_token, f"{dana['id']}.x")
        with pytest.raises(TokenAcquisitionFailed):
            provider.token_on_behalf_of(expired_token, f"{dana['id']}.y")

    assert "error=invalid_grant" in caplog.text
    for token in (good_token, expired_token, graph_token):
        for part in token.split("."):
            assert part not in caplog.text
