"""The authorization code flow with PKCE, as single-page applications use it.

``GET /{tenant}/oauth2/v2.0/authorize`` checks the request and shows a sign-in form for the
tenant's users; a successful ``POST`` redirects to the registered redirect URI with a code.
The token endpoint redeems the code once, with the PKCE verifier (RFC 7636), from a
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
from urllib.parse import urlencode, urlsplit

from flask import Response, redirect, render_template_string, request

from .directory import AppRegistration, is_loopback_host
from .grants import GrantHandler, OAuthError

# The identity platform documents codes as short-lived, "typically expiring after about 10
# minutes".
CODE_LIFETIME_SECONDS = 600
# RFC 7636 section 4.1: a verifier has 43 to 128 characters.
MIN_VERIFIER_CHARS = 43
MAX_VERIFIER_CHARS = 128
RESPONSE_MODES = ("query", "fragment")


@dataclass(frozen=True)
class AuthorizationCode:
    """What a code stands for: the sign-in it came from and the request that asked for it."""

    client_id: str
    redirect_uri: str
    user_id: str
    scope: str
    code_challenge: str
    expires_at: float


@dataclass
class AuthorizationCodeStore:
    """Issued codes, each redeemable once; redeemed codes are remembered until they expire."""

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


# ---- authorize endpoint ----


class _PageError(Exception):
    """An authorize request that cannot be redirected, because its client or redirect URI is
    not trusted; the identity platform shows such errors on its own page."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _AuthorizeRequest:
    client: AppRegistration
    redirect_uri: str
    response_mode: str
    state: str | None
    scope: str
    code_challenge: str

    def redirect_with(self, values: Mapping[str, str]) -> Response:
        """Redirect to the client with ``values`` (and ``state``) in the query or fragment."""
        answer = dict(values)
        if self.state is not None:
            answer["state"] = self.state
        if self.response_mode == "fragment":
            separator = "#"
        else:
            separator = "&" if "?" in self.redirect_uri else "?"
        return redirect(f"{self.redirect_uri}{separator}{urlencode(answer)}", code=302)


class _RedirectError(Exception):
    """An authorize request with a trusted redirect URI but other faults, sent back to it."""

    def __init__(self, error: OAuthError) -> None:
        super().__init__(error.description)
        self.error = error


def _parse_authorize(emulator, values: Mapping[str, str]) -> _AuthorizeRequest:
    """Check an authorize request in the identity platform's order: client and redirect URI
    first (errors on a page), then the rest (errors sent to the redirect URI).

    :raise _PageError: unknown client, missing or unregistered redirect URI.
    :raise _RedirectError: any other invalid parameter.
    """
    client_id = values.get("client_id", "").lower()
    client = emulator.apps.get(client_id)
    if client is None:
        raise _PageError(
            700016,
            f"Application with identifier '{values.get('client_id', '')}' was not found in the "
            f"directory '{emulator.config.tenant_id}'.",
        )
    redirect_uri = values.get("redirect_uri", "")
    if redirect_uri not in client.spa_redirect_uris:
        raise _PageError(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{client.client_id}'.",
        )
    response_mode = values.get("response_mode") or "query"
    partial = _AuthorizeRequest(
        client,
        redirect_uri,
        response_mode if response_mode in RESPONSE_MODES else "query",
        values.get("state"),
        values.get("scope", ""),
        values.get("code_challenge", ""),
    )
    try:
        if response_mode not in RESPONSE_MODES:
            raise OAuthError(
                "invalid_request",
                900144,
                f"The response_mode '{response_mode}' is not supported; use query or fragment.",
            )
        if values.get("response_type") != "code":
            raise OAuthError(
                "unsupported_response_type",
                700054,
                f"response_type '{values.get('response_type', '')}' is not enabled for the "
                "application; use code.",
            )
        if not partial.scope:
            raise OAuthError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        GrantHandler(emulator).delegated_scopes(partial.scope, client)
        if not partial.code_challenge:
            raise OAuthError(
                "invalid_request",
                9002325,
                "Proof Key for Code Exchange is required for cross-origin authorization code "
                "redemption.",
            )
        # NOTE: the identity platform also accepts the "plain" method; the emulator demands
        # S256, so that a client that would send its verifier in the clear fails here.
        if values.get("code_challenge_method") != "S256":
            raise OAuthError(
                "invalid_request",
                900144,
                f"code_challenge_method '{values.get('code_challenge_method', '')}' is not "
                "accepted; use S256.",
            )
    except OAuthError as error:
        raise _RedirectError(error) from None
    return partial


_SIGN_IN_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to your account</title></head>
<body>
<main>
<h1>Sign in</h1>
<p>{{ client.display_name }} wants to sign you in (emulated Microsoft identity platform).</p>
{% if error %}<p role="alert" id="signin-error">{{ error }}</p>{% endif %}
<form method="post">
{% for name, value in hidden.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}
<label for="username">Email</label>
<input id="username" name="username" type="email" autocomplete="username"
  value="{{ username }}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="signin-submit">Sign in</button>
</form>
</main>
</body>
</html>
"""

_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in failed</title></head>
<body><main><h1>Sign in failed</h1><p id="error">AADSTS{{ code }}: {{ message }}</p></main></body>
</html>
"""

_FORWARDED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = Response(render_template_string(template, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def authorize(emulator) -> Response:
    """Serve the authorize endpoint: the sign-in form on GET, the code on a valid POST."""
    values = request.values if request.method == "POST" else request.args
    try:
        parsed = _parse_authorize(emulator, values)
    except _PageError as error:
        return _page(_ERROR_PAGE, 400, code=error.code, message=error.message)
    except _RedirectError as failure:
        return _redirect_error(emulator, values, failure.error)

    hidden = {name: values[name] for name in _FORWARDED if name in values}
    if request.method == "GET":
        return _page(_SIGN_IN_PAGE, client=parsed.client, hidden=hidden, username="", error="")

    username = request.form.get("username", "").strip()
    user = emulator.state.find_user(username) if username else None
    if user is None or not user.check_password(request.form.get("password", "")):
        # One message for unknown users and wrong passwords, as the identity platform gives.
        return _page(
            _SIGN_IN_PAGE,
            200,
            client=parsed.client,
            hidden=hidden,
            username=username,
            error="Your account or password is incorrect.",
        )
    code = emulator.codes.issue(
        parsed.client.client_id, parsed.redirect_uri, user.id, parsed.scope, parsed.code_challenge
    )
    return parsed.redirect_with({"code": code})


def _redirect_error(emulator, values: Mapping[str, str], error: OAuthError) -> Response:
    client = emulator.apps[values.get("client_id", "").lower()]
    mode = values.get("response_mode")
    target = _AuthorizeRequest(
        client,
        values.get("redirect_uri", ""),
        mode if mode in RESPONSE_MODES else "query",
        values.get("state"),
        "",
        "",
    )
    return target.redirect_with(
        {"error": error.error, "error_description": f"AADSTS{error.code}: {error.description}"}
    )


# ---- token endpoint: authorization_code grant ----


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
    # is a guess; the identity platform rejects the request, as RFC 6749 section 4.1.3 asks.
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
