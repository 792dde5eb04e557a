"""Signing-key cache: key rotation works, forged key ids cannot flood the authority."""

from __future__ import annotations

import socket

import jwt
import pytest
from http_helpers import Clock, CountingSession

from mailgrip.errors import TokenInvalid
from mailgrip.identity.tokens import (
    JWKS_REFRESH_COOLDOWN_SECONDS,
    JWKS_RETRY_AFTER_FAILURE_SECONDS,
    JwksCache,
)


@pytest.fixture
def cache_parts(emulator):
    session = CountingSession(str(emulator.ca_path))
    clock = Clock()
    url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    return JwksCache(session, url, clock=clock), session, clock


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_forged_kids_fetch_keys_once(emulator, cache_parts):
    cache, session, _ = cache_parts
    cache.signing_key(emulator.current_kid)
    fetched = len(session.urls)

    for number in range(20):
        with pytest.raises(TokenInvalid):
            cache.signing_key(f"forged-{number}")

    assert fetched == 2  # the OpenID configuration, then the JWKS
    assert len(session.urls) == fetched


def test_rotated_key_trusted_after_cooldown(emulator, cache_parts):
    cache, _, clock = cache_parts
    cache.signing_key(emulator.current_kid)
    emulator.rotate_keys()
    new_kid = _kid(emulator.mint_token())

    with pytest.raises(TokenInvalid):
        cache.signing_key(new_kid)
    clock.now += JWKS_REFRESH_COOLDOWN_SECONDS

    assert cache.signing_key(new_kid).key_id == new_kid


def test_failed_fetch_retried_soon(emulator):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    session = CountingSession(str(emulator.ca_path))
    clock = Clock()
    cache = JwksCache(
        session,
        f"https://127.0.0.1:{closed_port}/x/v2.0/.well-known/openid-configuration",
        clock=clock,
    )

    with pytest.raises(TokenInvalid):
        cache.signing_key("any")
    with pytest.raises(TokenInvalid):
        _ = cache.issuer
    clock.now += JWKS_RETRY_AFTER_FAILURE_SECONDS
    with pytest.raises(TokenInvalid):
        cache.signing_key("any")

    assert len(session.urls) == 2


def test_parallel_forged_kids_fetch_keys_once(emulator, cache_parts):
    from concurrent.futures import ThreadPoolExecutor

    cache, session, _ = cache_parts

    def forged(number: int) -> None:
        with pytest.raises(TokenInvalid):
            cache.signing_key(f"forged-{number}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(forged, range(40)))

    assert len(session.urls) == 2  # one OpenID configuration and one JWKS, however many threads
