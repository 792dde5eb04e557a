"""Identity platform endpoints: OpenID configuration, JWKS, user realm, authorize and token."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from flask import Blueprint, Response, jsonify, request

from . import auth_codes
from .authorize import authorize as show_authorize
from .context import current_emulator
from .grants import JWT_BEARER, GrantHandler, OAuthError

log = logging.getLogger(__name__)

bp = Blueprint("identity", __name__)

# Tenant names that the identity platform accepts besides the tenant id.
MULTI_TENANT_NAMES = ("common", "organizations")


def _known_tenant(tenant: str) -> bool:
    emulator = current_emulator()
    lowered = tenant.lower()
    return (
        lowered == emulator.config.tenant_id
        or lowered in MULTI_TENANT_NAMES
        or (lowered in emulator.state.domains())
    )


def oauth_error_response(error: OAuthError) -> Response:
    """Return the identity platform's OAuth error JSON for a failed request."""
    now = dt.datetime.now(dt.UTC)
    trace_id = str(uuid.uuid4())
    correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{error.code}: {error.description} Trace ID: {trace_id} "
        f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
    )
    response = jsonify(
        {
            "error": error.error,
            "error_description": description,
            "error_codes": [error.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{current_emulator().config.base_url}/error?code={error.code}",
        }
    )
    response.status_code = error.status
    return response


def _unknown_tenant(tenant: str) -> Response:
    return oauth_error_response(
        OAuthError(
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    )


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant: str):
    """Return the OpenID Connect discovery document of the tenant."""
    if not _known_tenant(tenant):
        return _unknown_tenant(tenant)
    config = current_emulator().config
    base = config.base_url
    # The multi-tenant documents name a placeholder issuer, as the identity platform's do.
    segment = tenant.lower() if tenant.lower() in MULTI_TENANT_NAMES else config.tenant_id
    issuer_tenant = "{tenantid}" if segment in MULTI_TENANT_NAMES else config.tenant_id
    return jsonify(
        {
            "token_endpoint": f"{base}/{segment}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{segment}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{segment}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{segment}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{segment}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nbf",
                "name",
                "nonce",
                "oid",
                "preferred_username",
                "tid",
                "ver",
                "email",
            ],
            "kerberos_endpoint": f"{base}/{segment}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "emulator.invalid",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
    )


@bp.get("/<tenant>/discovery/v2.0/keys")
def jwks(tenant: str):
    """Return the public signing keys, the current one first."""
    if not _known_tenant(tenant):
        return _unknown_tenant(tenant)
    emulator = current_emulator()
    issuer = emulator.config.issuer
    return jsonify({"keys": [key.jwk(issuer) for key in emulator.keys.published()]})


@bp.get("/common/userrealm/<path:username>")
def user_realm(username: str):
    """Tell msal that the user's domain is managed, so it uses the password grant directly."""
    emulator = current_emulator()
    domain = username.rpartition("@")[2].lower()
    managed = domain in emulator.state.domains()
    return jsonify(
        {
            "ver": "1.0",
            "account_type": "Managed" if managed else "Unknown",
            "domain_name": domain,
            "cloud_instance_name": "emulator.invalid",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }
    )


@bp.route("/<tenant>/oauth2/v2.0/authorize", methods=["GET", "POST"])
def authorize(tenant: str):
    """Show the sign-in form of the authorization code flow, or redirect with a code."""
    if not _known_tenant(tenant):
        return _unknown_tenant(tenant)
    return show_authorize(current_emulator())


@bp.post("/<tenant>/oauth2/v2.0/token")
def token(tenant: str):
    """Run one OAuth 2.0 grant and return its tokens or an OAuth error."""
    if not _known_tenant(tenant):
        return _unknown_tenant(tenant)
    form = request.form.to_dict()
    handler = GrantHandler(current_emulator())
    grant_type = form.get("grant_type", "")
    # A client assertion names this endpoint as its audience, by tenant id or as called.
    endpoints = (
        request.base_url,
        f"{current_emulator().config.base_url}/{current_emulator().config.tenant_id}"
        "/oauth2/v2.0/token",
    )
    if grant_type == "authorization_code":
        return _redeem_code(form, endpoints)
    try:
        if not grant_type:
            raise OAuthError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        client, proven = handler.authenticate_client(
            form, request.headers.get("Authorization"), endpoints
        )
        if grant_type == "client_credentials":
            body = handler.client_credentials(form, client, proven)
        elif grant_type == "password":
            body = handler.password(form, client)
        elif grant_type == "refresh_token":
            body = handler.refresh_token(form, client)
        elif grant_type == JWT_BEARER:
            body = handler.on_behalf_of(form, client, proven)
        else:
            raise OAuthError(
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
    except OAuthError as error:
        log.info("Token request (%s) rejected: %s AADSTS%d", grant_type, error.error, error.code)
        return oauth_error_response(error)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _redeem_code(form: dict[str, str], endpoints: tuple[str, ...]) -> Response:
    emulator = current_emulator()
    origin = request.headers.get("Origin")
    try:
        body = auth_codes.redeem_authorization_code(
            emulator, form, request.headers.get("Authorization"), origin, endpoints
        )
    except OAuthError as error:
        log.info(
            "Token request (authorization_code) rejected: %s AADSTS%d", error.error, error.code
        )
        response = oauth_error_response(error)
    else:
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store"
    return auth_codes.allow_spa_origin(emulator, response, origin)
