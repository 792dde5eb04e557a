"""Admin sign-in with Microsoft: the authorization code flow with PKCE of a confidential web app.

The browser goes to the identity platform with msal's authorization request and comes back to
``/admin/signin/callback`` with a code. msal checks the state and the ID token's nonce against
the flow and redeems the code with Mailgrip's client credential and the PKCE verifier. The
access token is for Mailgrip's own API, so it passes the same validation and admin role check
as every other admin token.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Mapping
from typing import Any

import requests
from flask import session

from ..config import Settings
from ..services import services
from ..settings import current_settings
from .signin import Admin, admin_from_token

log = logging.getLogger(__name__)

CALLBACK_PATH = "/admin/signin/callback"
FLOW_KEY = "admin_signin_flow"
# A sign-in that takes longer than this, MFA included, starts again. The identity platform's
# codes live about 10 minutes, so an older flow's code would be rejected anyway.
FLOW_MAX_AGE_SECONDS = 15 * 60
# The identity platform's error descriptions are a few hundred characters; more is noise.
MAX_DESCRIPTION_CHARS = 1000


class SignInExpired(Exception):
    """No flow of this browser matches the authorization response (state, replay or age)."""


class SignInRejected(Exception):
    """The identity platform returned an OAuth error instead of a code or a token."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class SignInUnavailable(Exception):
    """The identity platform could not be reached or sent a response that is not OAuth JSON."""


def callback_url(settings: Settings) -> str:
    """Return the redirect URI that the app registration lists for the admin sign-in."""
    return f"{settings.public_url}{CALLBACK_PATH}"


def begin_signin() -> str:
    """Start a flow for this browser and return the identity platform's URL to send it to.

    :raise SignInUnavailable: the authority's OpenID configuration could not be fetched.
    """
    settings = current_settings()
    try:
        with warnings.catch_warnings():
            # msal 1.39 warns unless response_mode is form_post. The authorization response
            # comes in the query instead, because the identity platform's cross-site POST
            # would arrive without the SameSite=Lax session cookie that contains the flow.
            # The code in the query is single-use and needs the PKCE verifier and Mailgrip's
            # client credential, and Referrer-Policy: no-referrer keeps it out of Referer.
            warnings.filterwarnings("ignore", "response_mode='form_post'", UserWarning)
            flow = services().graph_tokens.app.initiate_auth_code_flow(
                scopes=[f"api://{settings.client_id}/{settings.api_scope}"],
                redirect_uri=callback_url(settings),
            )
    except (requests.RequestException, ValueError) as error:
        # msal builds its application on first use, which fetches the OpenID configuration.
        log.error("Admin sign-in could not reach the identity platform: %s", error)
        raise SignInUnavailable(str(error)) from error
    # The session cookie is signed, so the browser cannot change the flow, but not encrypted,
    # so the browser can read it. That is acceptable: state and nonce also travel in the URL,
    # and the PKCE verifier redeems a code only together with Mailgrip's client credential,
    # which stays on the server. The long authorization URL is left out to keep the cookie small.
    stored = {name: value for name, value in flow.items() if name != "auth_uri"}
    session[FLOW_KEY] = {"flow": stored, "started_at": time.time()}
    return flow["auth_uri"]


def finish_signin(auth_response: Mapping[str, str]) -> Admin:
    """Redeem the authorization response for an admin; the caller starts the session.

    The browser's flow is removed first, so that the same response never counts twice.

    :param auth_response: the callback's query parameters.
    :raise SignInExpired: no flow of this browser matches (state mismatch, replay, too old).
    :raise SignInRejected: the identity platform returned an error.
    :raise SignInUnavailable: the token endpoint could not be reached.
    :raise NotAdmin: the token is invalid or lacks the admin role.
    """
    stored = session.pop(FLOW_KEY, None)
    if not isinstance(stored, dict) or not isinstance(stored.get("flow"), dict):
        log.warning("Admin sign-in callback without a flow in this browser (replay or expired)")
        raise SignInExpired("no flow")
    if time.time() - float(stored.get("started_at", 0)) > FLOW_MAX_AGE_SECONDS:
        log.warning("Admin sign-in callback for a flow older than %d s", FLOW_MAX_AGE_SECONDS)
        raise SignInExpired("flow too old")

    result = _redeem(stored["flow"], dict(auth_response))
    if "access_token" not in result:
        # These fields carry no secret; the code and tokens are never logged.
        error = str(result.get("error") or "unknown_error")
        description = str(result.get("error_description") or "")[:MAX_DESCRIPTION_CHARS]
        log.warning(
            "Admin sign-in rejected by the identity platform: error=%s description=%r "
            "correlation_id=%s",
            error,
            description,
            result.get("correlation_id") or auth_response.get("correlation_id"),
        )
        raise SignInRejected(error, description)
    return admin_from_token(result["access_token"])


def _redeem(flow: dict[str, Any], auth_response: dict[str, str]) -> dict[str, Any]:
    app = services().graph_tokens.app
    try:
        return app.acquire_token_by_auth_code_flow(flow, auth_response)
    except json.JSONDecodeError as error:
        # A token endpoint that returns something other than JSON is as good as down.
        log.error("Admin sign-in: the token endpoint's response is not JSON")
        raise SignInUnavailable("invalid token response") from error
    except ValueError as error:
        # msal raises ValueError when the response's state differs from the flow's, or the
        # response has neither a code nor an error.
        log.warning("Admin sign-in response rejected: %s", type(error).__name__)
        raise SignInExpired("state mismatch") from error
    except RuntimeError as error:
        # msal raises RuntimeError when the ID token's nonce is not the flow's.
        log.warning("Admin sign-in response rejected: the ID token's nonce differs")
        raise SignInExpired("nonce mismatch") from error
    except requests.RequestException as error:
        log.error("Admin sign-in could not reach the token endpoint: %s", type(error).__name__)
        raise SignInUnavailable(str(error)) from error
