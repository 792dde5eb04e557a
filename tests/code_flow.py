"""Authorization requests of the code flow with PKCE, shared by the emulator's tests."""

from __future__ import annotations

import secrets
from collections.abc import Callable


def code_flow_request(emulator, redirect_uri: str, challenge: Callable[[str], str]) -> dict:
    """Return the endpoints, PKCE verifier and parameters of one authorization request of
    Mailgrip's client for its API; ``challenge`` turns the verifier into the S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return {
        "authorize": f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/authorize",
        "token": f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        "verifier": verifier,
        "params": {
            "client_id": emulator.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": f"api://{emulator.client_id}/access_as_user",
            "state": "state-" + secrets.token_hex(4),
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        },
    }
