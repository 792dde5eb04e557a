"""The authorize endpoint of the code flow with PKCE, for single-page and web applications.

``GET /{tenant}/oauth2/v2.0/authorize`` checks the request and shows a sign-in form for the
tenant's users. A successful ``POST`` redirects to the registered redirect URI with a code,
which ``auth_codes`` redeems at the token endpoint; Cancel redirects with ``access_denied``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Response, redirect, render_template_string, request

from .directory import AppRegistration
from .grants import GrantHandler, OAuthError

RESPONSE_MODES = ("query", "fragment")


class _PageError(Exception):
    """An authorize request with an untrusted client or redirect URI, which cannot be
    redirected. The identity platform shows such errors on its own page."""

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
    # "spa" or "web", from the registration of the redirect URI.
    platform: str = "spa"
    nonce: str | None = None

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
    platform = client.platform_of(redirect_uri)
    if platform is None:
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
        platform,
        values.get("nonce") or None,
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
        # NOTE: the identity platform lets web applications leave PKCE out. The emulator
        # requires it on both platforms, so that a confidential client without it fails here.
        if not partial.code_challenge:
            raise OAuthError(
                "invalid_request",
                9002325,
                "Proof Key for Code Exchange is required for cross-origin authorization code "
                "redemption."
                if platform == "spa"
                else "The request must contain a code_challenge (PKCE).",
            )
        # NOTE: the identity platform also accepts the "plain" method. The emulator requires
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
<button type="submit" id="signin-cancel" name="cancel" value="1" formnovalidate>Cancel</button>
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
    "nonce",
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

    if request.form.get("cancel"):
        # The identity platform redirects a user who declines with this error and AADSTS65004.
        return parsed.redirect_with(
            {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
            }
        )
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
        parsed.client.client_id,
        parsed.redirect_uri,
        user.id,
        parsed.scope,
        parsed.code_challenge,
        parsed.platform,
        parsed.nonce,
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
