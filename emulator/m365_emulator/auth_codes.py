"""Authorization codes of the code flow with PKCE, and their redemption at the token endpoint.

The token endpoint redeems a code once, with the PKCE verifier (RFC 7636), from a
cross-origin request, as the identity platform requires for redirect URIs of the
"Single-page application" platform.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from flask import Response

from .directory import AppRegistration, is_loopback_host
from .grants import GrantHandler, OAuthError

# The identity platform documents codes as short-lived, "typically expiring after about 10
# minutes".
CODE_LIFETIME_SECONDS = 600
# RFC 7636 section 4.1: a verifier has 43 to 128 characters.
MIN_VERIFIER_CHARS = 43
MAX_VERIFIER_CHARS = 128


@dataclass(frozen=True)
class AuthorizationCode:
    """The grant behind a code: the signed-in user and the authorization request's parameters."""

    client_id: str
    redirect_uri: str
    user_id: str
    scope: str
    code_challenge: str
    expires_at: float


@dataclass
class AuthorizationCodeStore:
    """Issued codes, each redeemable once. Redeemed codes are remembered until they expire."""

    lifetime: float = CODE_LIFETIME_SECONDS
    clock: Callable[[], float] = time.monotonic
    _codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    _redeemed: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(
        self, client_id: str, redirect_uri: str, user_id: str, scope: str, code_challenge: str
    ) -> str:
        """Store a new code and return it."""
        code = secrets.token_urlsafe(48)
        now = self.clock()
        with self._lock:
            self._forget_expired(now)
            self._codes[code] = AuthorizationCode(
                client_id, redirect_uri, user_id, scope, code_challenge, now + self.lifetime
            )
        return code

    def redeem(self, code: str) -> AuthorizationCode:
        """Remove a code and return what it stands for.

        :raise OAuthError: unknown, already redeemed or expired code.
        """
        now = self.clock()
        with self._lock:
            if code in self._redeemed:
                raise OAuthError(
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, "
                    "please retry with a new valid code or use an existing refresh token.",
                )
            grant = self._codes.pop(code, None)
            if grant is not None:
                self._redeemed[code] = grant.expires_at
        if grant is None:
            raise OAuthError(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: "
                "the authorization code is unknown.",
            )
        if now >= grant.expires_at:
            raise OAuthError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has "
                "expired due to inactivity. Send a new interactive authorization request.",
            )
        return grant

    def clear(self) -> None:
        with self._lock:
            self._codes.clear()
            self._redeemed.clear()

    def _forget_expired(self, now: float) -> None:
        self._codes = {c: g for c, g in self._codes.items() if g.expires_at > now}
        self._redeemed = {c: t for c, t in self._redeemed.items() if t > now}


def s256_challenge(verifier: str) -> str:
    """Return the S256 code challenge of a verifier: BASE64URL(SHA256(verifier)) unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def register_spa_redirect_uri(emulator, client_id: str, uri: str) -> AppRegistration:
    """Add a redirect URI of the single-page application platform to an app registration.

    :raise KeyError: no app with this client id.
    :raise ValueError: the URI is not an absolute http(s) URL on a loopback host, or has a
        fragment, which the identity platform forbids in redirect URIs.
    """
    app = emulator.apps[client_id.lower()]
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not is_loopback_host(parts.hostname or ""):
        raise ValueError(
            f"redirect URI {uri!r} is invalid; use an http(s) URL on 127.0.0.1, ::1 or "
            "localhost, because the emulator's sign-in redirects only to this machine."
        )
    if parts.fragment:
        raise ValueError(f"redirect URI {uri!r} has a fragment; remove the part after '#'.")
    if uri not in app.spa_redirect_uris:
        app = replace(app, spa_redirect_uris=(*app.spa_redirect_uris, uri))
        emulator.apps[app.client_id] = app
    return app


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def redeem_authorization_code(
    emulator, form: Mapping[str, str], authorization: str | None, origin: str | None
) -> dict[str, Any]:
    """Redeem a code for tokens with its PKCE verifier.

    :raise OAuthError: missing parameter, client secret sent, request not cross-origin, code
        unknown, redeemed or expired, another client or redirect URI, or verifier mismatch.
    """
    handler = GrantHandler(emulator)
    for parameter in ("client_id", "code", "redirect_uri", "code_verifier"):
        if not form.get(parameter):
            raise OAuthError(
                "invalid_request",
                900144,
                f"The request body must contain the following parameter: '{parameter}'.",
            )
    client = emulator.apps.get(form["client_id"].lower())
    if client is None:
        raise OAuthError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{form['client_id']}' was not found in the directory "
            f"'{emulator.config.tenant_id}'.",
        )
    if form.get("client_secret") or (authorization or "").lower().startswith("basic "):
        raise OAuthError(
            "invalid_request",
            90023,
            "Public clients can't send a client secret: redirect URIs of the single-page "
            "application platform redeem codes without one.",
        )
    if not origin:
        raise OAuthError(
            "invalid_request",
            9002327,
            "Tokens issued for the 'Single-Page Application' client-type may only be redeemed "
            "via cross-origin requests.",
        )

    grant = emulator.codes.redeem(form["code"])
    if grant.client_id != client.client_id:
        raise OAuthError(
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: the code was issued to another client.",
        )
    # NOTE: the AADSTS number for a redirect URI that differs from the authorization request
    # is a guess; the identity platform rejects the request, as RFC 6749 section 4.1.3 requires.
    if form["redirect_uri"] != grant.redirect_uri:
        raise OAuthError(
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: redirect_uri differs from the one of the "
            "authorization request.",
        )
    verifier = form["code_verifier"]
    if not MIN_VERIFIER_CHARS <= len(verifier) <= MAX_VERIFIER_CHARS or not hmac.compare_digest(
        s256_challenge(verifier), grant.code_challenge
    ):
        raise OAuthError(
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization "
            "request.",
        )
    scope = form.get("scope") or grant.scope
    return handler.user_tokens(form, client, grant.user_id, scope)


def allow_spa_origin(emulator, response: Response, origin: str | None) -> Response:
    """Let a page read the token response when its origin is one of a registered single-page
    application redirect URI, as the identity platform's CORS headers do."""
    spa_origins = {_origin(uri) for app in emulator.apps.values() for uri in app.spa_redirect_uris}
    response.headers["Vary"] = "Origin"
    if origin and origin.lower() in spa_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
