"""Random link and open-tracking tokens, and the hashes under which shares store them."""

from __future__ import annotations

import hashlib
import secrets

# 32 random bytes, 43 characters once base64url-encoded: long enough that guessing a link
# is hopeless, short enough to sit comfortably in a URL.
TOKEN_BYTES = 32


def new_token() -> tuple[str, str]:
    """Create a URL-safe token and return it together with its SHA-256 hex digest."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which ``token`` is stored and looked up.

    A plain hash is enough because the token has 256 random bits, so no salt or slow hash is
    needed against guessing.
    """
    return hashlib.sha256(token.encode()).hexdigest()
