"""The OAuth 2.0 password grant (RFC 6749, section 4.3), used only by the demo sign-in.

NOTE: msal 1.39 would do this with ``acquire_token_by_username_password``, but it first requests
``https://<authority host>/common/userrealm/…`` with the port dropped, so it cannot reach an
authority on any port but 443, such as the emulator. Production sign-in does not use this grant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

from ..config import Settings

log = logging.getLogger(__name__)


class PasswordGrantFailed(Exception):
    """The identity platform refused the username and password, or could not be reached."""

    def __init__(
        self,
        error: str,
        description: str,
        correlation_id: str | None = None,
        error_codes: tuple[int, ...] = (),
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.correlation_id = correlation_id
        self.error_codes = error_codes


@dataclass(frozen=True)
class GrantedToken:
    access_token: str
    expires_in: int


def acquire_token_by_password(
    session: requests.Session,
    authority: str,
    client_id: str,
    username: str,
    password: str,
    scopes: list[str],
) -> GrantedToken:
    """Exchange a username and password for an access token at ``authority``'s token endpoint.

    :raise PasswordGrantFailed: wrong credentials, unknown client, or the authority is down.
    """
    try:
        configuration = session.get(f"{authority}/v2.0/.well-known/openid-configuration")
        configuration.raise_for_status()
        response = session.post(
            configuration.json()["token_endpoint"],
            data={
                "grant_type": "password",
                "client_id": client_id,
                "username": username,
                "password": password,
                "scope": " ".join(scopes),
            },
        )
        body = response.json()
    except (requests.RequestException, ValueError, KeyError) as error:
        log.error("Password grant at %s failed: %s", authority, type(error).__name__)
        raise PasswordGrantFailed(
            "unavailable", f"the identity platform failed: {error}"
        ) from error
    if "access_token" not in body:
        log.warning(
            "Password grant refused: error=%s correlation_id=%s",
            body.get("error"),
            body.get("correlation_id"),
        )
        raise PasswordGrantFailed(
            body.get("error", "invalid_grant"),
            body.get("error_description", ""),
            body.get("correlation_id"),
            tuple(body.get("error_codes") or ()),
        )
    return GrantedToken(
        access_token=body["access_token"], expires_in=int(body.get("expires_in", 0))
    )


def acquire_demo_api_token(
    session: requests.Session, settings: Settings, username: str, password: str
) -> GrantedToken:
    """Get an access token for Mailgrip's API through the demo's public client.

    :raise PasswordGrantFailed: wrong credentials, unknown client, or the authority is down.
    """
    return acquire_token_by_password(
        session,
        f"{settings.authority}/{settings.tenant_id}",
        settings.demo_client_id,
        username,
        password,
        [f"api://{settings.client_id}/{settings.api_scope}"],
    )
