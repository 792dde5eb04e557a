"""Authorization codes of the code flow with PKCE, and their redemption at the token endpoint.

The token endpoint redeems a code once, with the PKCE verifier (RFC 7636). The platform of
the redirect URI that the code was issued for sets the other rules, as at the identity
platform: a "Single-page application" code is redeemed from a cross-origin request without
a client secret, and a "Web" code only from a server-side request with the client's secret or
certificate assertion.
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
from .grants import GrantHandler, OAuthError, missing_parameter

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
    # "spa" or "web": the platform of the redirect URI, which sets the redemption rules.
    platform: str = "spa"
    # The OpenID Connect nonce of the request, copied into the ID token.
    nonce: str | None = None


@dataclass
class AuthorizationCodeStore:
    """Issued codes, each redeemable once. Redeemed codes are remembered until they expire."""

    lifetime: float = CODE_LIFETIME_SECONDS
    clock: Callable[[], float] = time.monotonic
    _codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    _redeemed: dict[str, AuthorizationCode] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(
        self,
        client_id: str,
        redirect_uri: str,
        user_id: str,
        scope: str,
        code_challenge: str,
        platform: str = "spa",
        nonce: str | None = None,
    ) -> str:
        """Store a new code and return it."""
        code = secrets.token_urlsafe(48)
        now = self.clock()
        with self._lock:
            self._forget_expired(now)
            self._codes[code] = AuthorizationCode(
                client_id,
                redirect_uri,
                user_id,
                scope,
                code_challenge,
                now + self.lifetime,
                platform,
                nonce,
            )
        return code

    def platform_of(self, code: str) -> str | None:
        """Return the platform of an issued or redeemed code without redeeming it."""
        with self._lock:
            grant = self._codes.get(code) or self._redeemed.get(code)
        return grant.platform if grant is not None else None

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
                self._redeemed[code] = grant
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
        self._redeemed = {c: g for c, g in self._redeemed.items() if g.expires_at > now}


def s256_challenge(verifier: str) -> str:
    """Return the S256 code challenge of a verifier: BASE64URL(SHA256(verifier)) unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def register_redirect_uri(emulator, client_id: str, uri: str, platform: str) -> AppRegistration:
    """Add a redirect URI of the ``spa`` or ``web`` platform to an app registration.

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
    registered = app.redirect_uris(platform)
    if uri not in registered:
        field_name = "web_redirect_uris" if platform == "web" else "spa_redirect_uris"
        app = replace(app, **{field_name: (*registered, uri)})
        emulator.apps[app.client_id] = app
    return app


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def redeem_authorization_code(
    emulator,
    form: Mapping[str, str],
    authorization: str | None,
    origin: str | None,
    token_endpoints: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Redeem a code for tokens with its PKCE verifier, by the rules of its platform.

    :param token_endpoints: the URLs of this endpoint that a client assertion may name.
    :raise OAuthError: missing parameter, client credentials missing, wrong or not allowed,
        request from the wrong side (browser or server), code unknown, redeemed or expired,
        another client or redirect URI, or verifier missing or not matching.
    """
    for parameter in ("client_id", "code", "redirect_uri"):
        if not form.get(parameter):
            raise missing_parameter(parameter)
    client = emulator.apps.get(form["client_id"].lower())
    if client is None:
        raise OAuthError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{form['client_id']}' was not found in the directory "
            f"'{emulator.config.tenant_id}'.",
        )
    # The code's platform is looked up before redemption, so that a request that breaks the
    # platform's rules leaves the code redeemable by the right client.
    if emulator.codes.platform_of(form["code"]) == "web":
        client = _authenticate_web_client(emulator, form, authorization, origin, token_endpoints)
    else:
        _check_spa_request(form, authorization, origin)

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
    verifier = form.get("code_verifier", "")
    if not verifier:
        raise OAuthError(
            "invalid_grant",
            50148,
            "The code_verifier does not match the code_challenge supplied in the authorization "
            "request for PKCE.",
        )
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
    return GrantHandler(emulator).user_tokens(
        form, client, grant.user_id, scope, nonce=grant.nonce
    )


def _check_spa_request(form: Mapping[str, str], authorization: str | None, origin: str | None):
    if not form.get("code_verifier"):
        raise missing_parameter("code_verifier")
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


def _authenticate_web_client(
    emulator,
    form: Mapping[str, str],
    authorization: str | None,
    origin: str | None,
    token_endpoints: tuple[str, ...],
) -> AppRegistration:
    if origin:
        raise OAuthError(
            "invalid_request",
            9002326,
            "Cross-origin token redemption is permitted only for the 'Single-Page Application' "
            "client-type.",
        )
    client, proven = GrantHandler(emulator).authenticate_client(
        form, authorization, token_endpoints
    )
    if not proven:
        raise OAuthError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
            status=401,
        )
    return client


def allow_spa_origin(emulator, response: Response, origin: str | None) -> Response:
    """Let a page read the token response when its origin is one of a registered single-page
    application redirect URI, as the identity platform's CORS headers do."""
    spa_origins = {_origin(uri) for app in emulator.apps.values() for uri in app.spa_redirect_uris}
    response.headers["Vary"] = "Origin"
    if origin and origin.lower() in spa_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
