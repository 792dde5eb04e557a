"""The OAuth 2.0 grants of the token endpoint: client credentials, password, refresh, OBO.

Each grant either returns the token response or raises :class:`OAuthError` with the error
code and AADSTS number that the identity platform uses for the same failure.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .client_assertions import CLIENT_ASSERTION_TYPE, AssertionRejected, verify_client_assertion
from .directory import (
    GRAPH_APP_ID,
    GRAPH_APP_ROLES,
    GRAPH_DELEGATED_SCOPES,
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    AppRegistration,
)
from .tokens import ACCESS_TOKEN_LIFETIME, RefreshGrant, TokenRejected, TokenUser, client_info

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_GRAPH_SCOPE_NAMES = {name.lower(): name for name in GRAPH_DELEGATED_SCOPES}


class OAuthError(Exception):
    """A token request failed; rendered as the identity platform's OAuth error JSON."""

    def __init__(self, error: str, code: int, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.code = code
        self.description = description
        self.status = status


def missing_parameter(parameter: str) -> OAuthError:
    """Return the error for a request without a required parameter."""
    return OAuthError(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{parameter}'.",
    )


@dataclass(frozen=True)
class ResourceScopes:
    """The resource a token is for (its ``aud``) and the scope names granted on it."""

    audience: str
    names: tuple[str, ...]
    # The scopes as the response's ``scope`` field lists them.
    granted: tuple[str, ...]


class GrantHandler:
    """Runs the grants against the emulator's directory, users and token service."""

    def __init__(self, emulator) -> None:
        self._emulator = emulator

    # Client authentication

    def authenticate_client(
        self,
        form: Mapping[str, str],
        authorization: str | None,
        token_endpoints: tuple[str, ...] = (),
    ) -> tuple[AppRegistration, bool]:
        """Return the client and whether it proved itself with a secret or a certificate.

        :param token_endpoints: the URLs of this endpoint that a client assertion may name as
            its audience.
        :raise OAuthError: unknown client, wrong or misplaced secret, invalid client assertion.
        """
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(
                    "invalid_client",
                    7000216,
                    "The Authorization header is not valid HTTP Basic authentication.",
                    status=401,
                ) from None
            basic_id, _, basic_secret = decoded.partition(":")
            # RFC 6749 section 2.3.1: both parts are form-urlencoded before encoding.
            client_id = client_id or unquote(basic_id)
            secret = unquote(basic_secret)
        if not client_id:
            raise missing_parameter("client_id")
        app = self._emulator.apps.get(client_id.lower())
        if app is None:
            raise OAuthError(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self._emulator.config.tenant_id}'.",
            )
        if form.get("client_assertion"):
            self._check_client_assertion(form, app, token_endpoints)
            return app, True
        if app.is_public:
            if secret:
                raise OAuthError(
                    "invalid_client",
                    700025,
                    "Client is public so neither 'client_assertion' nor 'client_secret' "
                    "should be presented.",
                )
            return app, False
        if secret is None:
            raise OAuthError(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.",
                status=401,
            )
        if not app.secret_matches(secret):
            raise OAuthError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
                status=401,
            )
        return app, True

    def _check_client_assertion(
        self, form: Mapping[str, str], app: AppRegistration, token_endpoints: tuple[str, ...]
    ) -> None:
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                "invalid_request",
                50027,
                f"client_assertion_type must be '{CLIENT_ASSERTION_TYPE}'.",
            )
        if form.get("client_secret"):
            raise OAuthError(
                "invalid_request",
                7000226,
                "Only one of 'client_assertion' and 'client_secret' may be presented.",
            )
        try:
            verify_client_assertion(
                form["client_assertion"], app.client_id, app.certificates, token_endpoints
            )
        except AssertionRejected as error:
            raise OAuthError("invalid_client", error.code, error.description, status=401) from None

    # Scopes

    def _resource_of(self, scope: str) -> tuple[str, str]:
        """Split a scope into (resource, name); a bare name is a Graph scope."""
        if "/" not in scope:
            return GRAPH_RESOURCE, scope
        resource, _, name = scope.rpartition("/")
        if resource.lower() in (GRAPH_RESOURCE, GRAPH_APP_ID, GRAPH_RESOURCE + "/v1.0"):
            return GRAPH_RESOURCE, name
        if not resource.lower().startswith("api://") and resource.lower() in self._emulator.apps:
            resource = f"api://{resource}"
        return resource.lower(), name

    def delegated_scopes(self, raw_scope: str, client: AppRegistration) -> ResourceScopes:
        """Resolve the resource scopes of a delegated request; OIDC scopes are left out.

        :raise OAuthError: unknown resource or scope, or scopes of two resources.
        """
        requested = [s for s in raw_scope.split() if s.lower() not in OIDC_SCOPES]
        if not requested:
            # Only OIDC scopes: the identity platform then issues a Graph token for User.Read.
            requested = ["User.Read"]
        resources = {self._resource_of(scope)[0] for scope in requested}
        if len(resources) > 1:
            raise OAuthError(
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid because it contains "
                "more than one resource.",
            )
        resource = resources.pop()
        names = [self._resource_of(scope)[1] for scope in requested]
        if resource == GRAPH_RESOURCE:
            return self._graph_scopes(names, requested, client)
        api_app = self._api_app(resource)
        if names == [".default"]:
            granted_names = tuple(sorted(api_app.api_scopes))
        else:
            unknown = [name for name in names if name not in api_app.api_scopes]
            if unknown:
                raise OAuthError(
                    "invalid_scope",
                    65005,
                    f"The application '{client.display_name}' asked for scope '{unknown[0]}' "
                    f"that doesn't exist on the resource '{api_app.client_id}'.",
                )
            granted_names = tuple(names)
        return ResourceScopes(
            audience=api_app.client_id,
            names=granted_names,
            granted=tuple(f"api://{api_app.client_id}/{name}" for name in granted_names),
        )

    def _graph_scopes(
        self, names: list[str], requested: list[str], client: AppRegistration
    ) -> ResourceScopes:
        if names == [".default"]:
            granted_names = client.graph_delegated_scopes or ("User.Read",)
            granted = tuple(f"{GRAPH_RESOURCE}/{name}" for name in granted_names)
            return ResourceScopes(GRAPH_RESOURCE, tuple(granted_names), granted)
        canonical = []
        for name in names:
            known = _GRAPH_SCOPE_NAMES.get(name.lower())
            if known is None:
                raise OAuthError(
                    "invalid_scope",
                    70011,
                    f"The provided value for the input parameter 'scope' is not valid. The "
                    f"scope {name} is not valid.",
                )
            canonical.append(known)
        return ResourceScopes(GRAPH_RESOURCE, tuple(canonical), tuple(requested))

    def _api_app(self, resource: str) -> AppRegistration:
        client_id = resource.removeprefix("api://")
        app = self._emulator.apps.get(client_id)
        if app is None or not app.api_scopes:
            raise OAuthError(
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{self._emulator.config.tenant_id}.",
            )
        return app

    # Grants

    def client_credentials(self, form: Mapping[str, str], client: AppRegistration, proven: bool):
        """Issue an app-only token for ``<resource>/.default``."""
        if not proven:
            raise OAuthError(
                "unauthorized_client",
                700016,
                f"The client '{client.client_id}' is a public client and cannot use the client "
                "credentials grant.",
            )
        scope = form.get("scope", "").strip()
        if not scope:
            raise missing_parameter("scope")
        if len(scope.split()) != 1 or not scope.endswith("/.default"):
            raise OAuthError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource, _ = self._resource_of(scope)
        tokens = self._emulator.tokens
        if resource == GRAPH_RESOURCE:
            access_token = tokens.app_access_token(client, GRAPH_RESOURCE, GRAPH_APP_ROLES)
        else:
            api_app = self._api_app(resource)
            access_token = tokens.app_access_token(client, api_app.client_id, ())
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "ext_expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": access_token,
        }

    def password(self, form: Mapping[str, str], client: AppRegistration):
        """Issue tokens for a username and password (resource owner password credentials)."""
        for parameter in ("username", "password"):
            if not form.get(parameter):
                raise missing_parameter(parameter)
        user = self._emulator.state.find_user(form["username"])
        if user is None:
            raise OAuthError(
                "invalid_grant",
                50034,
                f"The user account {form['username']} does not exist in the "
                f"{self._emulator.config.tenant_id} directory. To sign into this application, "
                "the account must be added to the directory.",
            )
        if not user.check_password(form["password"]):
            raise OAuthError(
                "invalid_grant",
                50126,
                "Error validating credentials due to invalid username or password.",
            )
        return self.user_tokens(form, client, user.id, form.get("scope", ""))

    def refresh_token(self, form: Mapping[str, str], client: AppRegistration):
        """Redeem a refresh token issued to the same client."""
        token = form.get("refresh_token")
        if not token:
            raise missing_parameter("refresh_token")
        grant = self._emulator.tokens.refresh_grant(token)
        if grant is None or grant.client_id != client.client_id:
            raise OAuthError(
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed: the refresh token is unknown, revoked, "
                "or was issued to another client.",
            )
        scope = form.get("scope") or " ".join(grant.scopes)
        return self.user_tokens(form, client, grant.user_id, scope)

    def on_behalf_of(self, form: Mapping[str, str], client: AppRegistration, proven: bool):
        """Exchange a user's token for this client's API for a token to another resource."""
        if form.get("requested_token_use") != "on_behalf_of":
            raise OAuthError(
                "invalid_request",
                900144,
                "The jwt-bearer grant needs requested_token_use=on_behalf_of.",
            )
        if not proven:
            raise OAuthError(
                "invalid_client",
                7000218,
                "The on-behalf-of flow needs a confidential client with its client_secret or "
                "a client assertion.",
                status=401,
            )
        assertion = form.get("assertion")
        if not assertion:
            raise missing_parameter("assertion")
        try:
            claims = self._emulator.tokens.verify(
                assertion, [client.client_id, f"api://{client.client_id}"]
            )
        except TokenRejected as error:
            raise OAuthError(
                "invalid_grant", 50013, f"Assertion failed validation. {error}"
            ) from None
        if "scp" not in claims:
            raise OAuthError(
                "invalid_grant",
                50013,
                "The assertion is an app-only token; the on-behalf-of flow needs a user's token.",
            )
        return self.user_tokens(form, client, claims["oid"], form.get("scope", ""))

    def user_tokens(
        self,
        form: Mapping[str, str],
        client: AppRegistration,
        user_id: str,
        raw_scope: str,
        nonce: str | None = None,
    ) -> dict[str, Any]:
        """Issue a user's access token, with ID and refresh tokens when the scope asks.

        :param nonce: the authorization request's OpenID Connect nonce, for the ID token.
        """
        state = self._emulator.state
        user = state.find_user(user_id)
        if user is None:
            raise OAuthError(
                "invalid_grant", 50034, f"The user account {user_id} does not exist any more."
            )
        scopes = self.delegated_scopes(raw_scope, client)
        # Only a token for Mailgrip's own API carries the roles assigned on that API.
        roles = () if scopes.audience == GRAPH_RESOURCE else tuple(sorted(user.app_roles))
        token_user = TokenUser(user.id, user.address, user.display_name, roles)
        tokens = self._emulator.tokens
        requested = {scope.lower() for scope in raw_scope.split()}
        response: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(scopes.granted),
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "ext_expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": tokens.user_access_token(
                token_user, client, scopes.audience, scopes.names
            ),
        }
        if "offline_access" in requested:
            response["refresh_token"] = tokens.issue_refresh_token(
                RefreshGrant(user.id, client.client_id, tuple(raw_scope.split()))
            )
        if "openid" in requested:
            response["id_token"] = tokens.id_token(token_user, client, nonce)
        if form.get("client_info") == "1":
            response["client_info"] = client_info(user.id, self._emulator.config.tenant_id)
        return response
