"""API bearer tokens: each rule of identity-platform v2 validation, with a token that breaks it.

Tokens come from the emulator (``mint_token``), and the validator fetches the emulator's OpenID
configuration and JWKS over HTTPS, as it would Microsoft's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from http_helpers import Clock, CountingSession

from mailgrip.config import Settings
from mailgrip.demo.run import emulator_environ
from mailgrip.errors import TokenInvalid
from mailgrip.identity.tokens import LEEWAY_SECONDS, TokenValidator

OTHER_TENANT = "0f1e2d3c-4b5a-4978-8a9b-aabbccddeeff"
THIRD_TENANT = "11111111-2222-4333-8444-555555555555"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _settings(emulator, tmp_path, **variables: str) -> Settings:
    environ = emulator_environ(emulator, tmp_path / "files", "http://127.0.0.1:5000")
    environ.update(variables)
    return Settings.from_env(tmp_path, environ)


@pytest.fixture
def session(emulator) -> CountingSession:
    return CountingSession(str(emulator.ca_path))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def validator(emulator, tmp_path, session, clock) -> TokenValidator:
    return TokenValidator(_settings(emulator, tmp_path), session, clock=clock)


@pytest.fixture
def user(emulator):
    emulator.create_user("dana@contoso.example", "Dana Tester", "correct horse battery staple")
    yield "dana@contoso.example"


def _rejection(validator: TokenValidator, token: str) -> str:
    with pytest.raises(TokenInvalid) as raised:
        validator.validate(token)
    return raised.value.message


def test_valid_token_returns_caller(emulator, validator, user):
    caller = validator.validate(emulator.mint_token(user=user))

    assert caller.address == user
    assert caller.tenant_id == emulator.tenant_id
    assert "access_as_user" in caller.scopes


def test_app_id_uri_audience_accepted(emulator, validator, user):
    token = emulator.mint_token({"aud": f"api://{emulator.client_id}"}, user=user)

    assert validator.validate(token).address == user


def test_configured_app_id_uri_accepted(emulator, tmp_path, session, user):
    settings = _settings(emulator, tmp_path, MAILGRIP_API_APP_ID_URI="api://mailgrip.example")
    validator = TokenValidator(settings, session)

    accepted = validator.validate(emulator.mint_token({"aud": "api://mailgrip.example"}, user=user))
    default_uri = emulator.mint_token({"aud": f"api://{emulator.client_id}"}, user=user)

    assert accepted.address == user
    assert "not issued for Mailgrip" in _rejection(validator, default_uri)


def test_expired_token_rejected(emulator, validator, user):
    token = emulator.mint_token(user=user, lifetime=-(LEEWAY_SECONDS + 60))

    assert "expired" in _rejection(validator, token)


def test_expiry_within_leeway_accepted(emulator, validator, user):
    token = emulator.mint_token(user=user, lifetime=-(LEEWAY_SECONDS // 2))

    assert validator.validate(token).address == user


def test_not_yet_valid_token_rejected(emulator, validator, user):
    token = emulator.mint_token({"nbf": int(time.time()) + LEEWAY_SECONDS + 300}, user=user)

    assert "not valid yet" in _rejection(validator, token)


def test_wrong_audience_rejected(emulator, validator, user):
    token = emulator.mint_token({"aud": "api://another-app"}, user=user)

    assert "not issued for Mailgrip" in _rejection(validator, token)


def test_wrong_issuer_rejected(emulator, validator, user):
    token = emulator.mint_token(
        {"iss": f"https://login.example.invalid/{emulator.tenant_id}/v2.0"}, user=user
    )

    assert "issuer that is not trusted" in _rejection(validator, token)


def test_other_tenant_rejected_by_default(emulator, validator, user):
    token = emulator.mint_token(
        {"tid": OTHER_TENANT, "iss": f"{emulator.base_url}/{OTHER_TENANT}/v2.0"}, user=user
    )

    assert "tenant that is not allowed" in _rejection(validator, token)


@pytest.fixture
def multi_tenant_validator(emulator, tmp_path, session) -> TokenValidator:
    settings = _settings(
        emulator, tmp_path, MAILGRIP_ALLOWED_TENANTS=f"{emulator.tenant_id}, {OTHER_TENANT}"
    )
    return TokenValidator(settings, session)


def test_allowed_second_tenant_accepted(emulator, multi_tenant_validator, user):
    token = emulator.mint_token(
        {"tid": OTHER_TENANT, "iss": f"{emulator.base_url}/{OTHER_TENANT}/v2.0"}, user=user
    )

    assert multi_tenant_validator.validate(token).tenant_id == OTHER_TENANT


def test_tenant_not_in_allow_list_rejected(emulator, multi_tenant_validator, user):
    # The issuer matches the token's tenant, so only the allow-list can reject it.
    token = emulator.mint_token(
        {"tid": THIRD_TENANT, "iss": f"{emulator.base_url}/{THIRD_TENANT}/v2.0"}, user=user
    )

    assert "tenant that is not allowed" in _rejection(multi_tenant_validator, token)


def test_issuer_of_another_tenant_rejected(emulator, multi_tenant_validator, user):
    # An allowed tenant id with the issuer of another tenant is not what the platform issues.
    token = emulator.mint_token(
        {"tid": OTHER_TENANT, "iss": f"{emulator.base_url}/{emulator.tenant_id}/v2.0"}, user=user
    )

    assert "issuer that is not trusted" in _rejection(multi_tenant_validator, token)


def test_missing_scope_rejected(emulator, validator, user):
    token = emulator.mint_token({"scp": "User.Read Mail.Read"}, user=user)

    assert "lacks the scope 'access_as_user'" in _rejection(validator, token)


def test_app_only_token_rejected(emulator, validator, user):
    # An app-only token carries roles and no scp, so it must not act as a user.
    token = emulator.mint_token({"scp": None, "roles": ["access_as_user"]}, user=user)

    assert "lacks the scope" in _rejection(validator, token)


def _claims_of(token: str) -> dict:
    return json.loads(_unb64(token.split(".")[1]))


def test_alg_none_rejected(emulator, validator, user):
    claims = _claims_of(emulator.mint_token(user=user))
    header = {"alg": "none", "typ": "JWT", "kid": emulator.current_kid}
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."

    assert "algorithm 'none' is not accepted" in _rejection(validator, token)


def test_hs256_with_public_key_rejected(emulator, validator, user):
    # The classic key-confusion forgery: HMAC over the token with the published RSA public key
    # as the secret, which a validator that trusts the header's alg would accept.
    claims = _claims_of(emulator.mint_token(user=user))
    public_pem = emulator.emulator.keys.current.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": emulator.current_kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(signature)}"

    assert "algorithm 'HS256' is not accepted" in _rejection(validator, token)


def test_payload_altered_after_signing_rejected(emulator, validator, user):
    header, payload, signature = emulator.mint_token(user=user).split(".")
    claims = json.loads(_unb64(payload))
    claims["oid"] = "00000000-0000-4000-8000-000000000000"
    token = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"

    assert "Signature verification failed" in _rejection(validator, token)


def test_unknown_kid_refetches_once_then_fails(emulator, validator, session, clock, user):
    validator.validate(emulator.mint_token(user=user))
    assert len(session.urls) == 2  # the OpenID configuration, then the JWKS

    forged = emulator.mint_token(user=user, key=emulator.foreign_key)
    first = _rejection(validator, forged)
    after_first = len(session.urls)
    second = _rejection(validator, forged)

    assert "unknown key id" in first
    assert after_first == 4
    assert "unknown key id" in second
    assert len(session.urls) == after_first


def test_rotated_key_accepted_after_refetch(emulator, validator, session, user):
    validator.validate(emulator.mint_token(user=user))
    emulator.rotate_keys()

    caller = validator.validate(emulator.mint_token(user=user))

    assert caller.address == user
    assert len(session.urls) == 4


def test_forged_kid_then_rotation_accepted(emulator, validator, session, user):
    validator.validate(emulator.mint_token(user=user))
    forged = emulator.mint_token(user=user, key=emulator.foreign_key, headers={"kid": "forged"})
    rejected = _rejection(validator, forged)
    rotated = session.post(f"{emulator.base_url}/_emulator/keys/rotate")
    new_token = emulator.mint_token(user=user)

    caller = validator.validate(new_token)

    assert "unknown key id 'forged'" in rejected
    assert rotated.status_code == 200
    assert jwt.get_unverified_header(new_token)["kid"] == rotated.json()["kid"]
    assert caller.address == user


def test_roles_claim_read(emulator, validator, user):
    token = emulator.mint_token({"roles": ["Mailgrip.Admin", 7]}, user=user)

    assert validator.validate(token).roles == frozenset({"Mailgrip.Admin"})


def test_token_without_kid_rejected(emulator, validator, user):
    token = jwt.encode(
        _claims_of(emulator.mint_token(user=user)),
        emulator.emulator.keys.current.private_key,
        algorithm="RS256",
    )

    assert "unknown key id ''" in _rejection(validator, token)
