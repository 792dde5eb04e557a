"""Link and open-tracking tokens and their stored hashes."""

from __future__ import annotations

import hashlib
import re

from mailgrip.shares.tokens import hash_token, new_token


def test_new_token_is_url_safe_and_long():
    token, _ = new_token()

    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)


def test_new_token_returns_its_hash():
    token, digest = new_token()

    assert digest == hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()


def test_new_tokens_differ():
    assert len({new_token()[0] for _ in range(100)}) == 100
