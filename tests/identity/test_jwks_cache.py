"""Signing-key cache: rotation works, and forged key ids neither flood nor delay refetches."""

from __future__ import annotations

import socket

import jwt
import pytest
from http_helpers import Clock, CountingSession

from mailgrip.errors import TokenInvalid
from mailgrip.identity import tokens
from mailgrip.identity.tokens import (
    JWKS_REFETCH_BURST,
    JWKS_REFETCH_INTERVAL_SECONDS,
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


def test_forged_kids_refetch_at_most_burst(emulator, cache_parts):
    cache, session, _ = cache_parts
    cache.signing_key(emulator.current_kid)

    for number in range(20):
        with pytest.raises(TokenInvalid):
            cache.signing_key(f"forged-{number}")

    # Each refetch reads the OpenID configuration, then the JWKS.
    assert len(session.urls) == 2 * JWKS_REFETCH_BURST


def test_same_forged_kid_refetches_once(emulator, cache_parts):
    cache, session, clock = cache_parts
    cache.signing_key(emulator.current_kid)

    with pytest.raises(TokenInvalid):
        cache.signing_key("forged")
    after_first = len(session.urls)
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS * JWKS_REFETCH_BURST
    with pytest.raises(TokenInvalid):
        cache.signing_key("forged")

    assert after_first == 4
    assert len(session.urls) == after_first


def test_forged_kid_does_not_delay_rotated_key(emulator, cache_parts):
    cache, _, _ = cache_parts
    cache.signing_key(emulator.current_kid)

    with pytest.raises(TokenInvalid):
        cache.signing_key("forged")
    emulator.rotate_keys()
    new_kid = _kid(emulator.mint_token())

    assert cache.signing_key(new_kid).key_id == new_kid


def test_refetches_refill_over_time(emulator, cache_parts):
    cache, session, clock = cache_parts
    cache.signing_key(emulator.current_kid)
    for number in range(JWKS_REFETCH_BURST):
        with pytest.raises(TokenInvalid):
            cache.signing_key(f"forged-{number}")
    exhausted = len(session.urls)

    emulator.rotate_keys()
    new_kid = _kid(emulator.mint_token())
    with pytest.raises(TokenInvalid):
        cache.signing_key(new_kid)
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS

    assert cache.signing_key(new_kid).key_id == new_kid
    assert len(session.urls) == exhausted + 2


def test_failed_kids_remembered_up_to_limit(emulator, cache_parts, monkeypatch):
    # A smaller limit keeps the test fast; the eviction is the same at any size.
    monkeypatch.setattr(tokens, "MAX_FAILED_KIDS", 2)
    cache, session, clock = cache_parts
    for kid in ("forged-a", "forged-b", "forged-c"):
        with pytest.raises(TokenInvalid):
            cache.signing_key(kid)
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS * JWKS_REFETCH_BURST
    before = len(session.urls)

    with pytest.raises(TokenInvalid):
        cache.signing_key("forged-c")
    remembered = len(session.urls)
    with pytest.raises(TokenInvalid):
        cache.signing_key("forged-a")

    assert remembered == before
    assert len(session.urls) == before + 2


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


def test_parallel_forged_kid_fetches_keys_once(emulator, cache_parts):
    from concurrent.futures import ThreadPoolExecutor

    cache, session, _ = cache_parts

    def forged(number: int) -> None:
        with pytest.raises(TokenInvalid):
            cache.signing_key("forged")

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(forged, range(40)))

    assert len(session.urls) == 2  # one OpenID configuration and one JWKS, however many threads
