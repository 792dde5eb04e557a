"""Graph tokens through msal: one ConfidentialClientApplication per process."""

from __future__ import annotations

import logging
import threading
from typing import Any

import msal
import requests

from ..config import Settings
from ..errors import MailgripError

log = logging.getLogger(__name__)


class TokenAcquisitionFailed(MailgripError):
    """The identity platform refused to issue a token."""

    status = 502
    code = "token_acquisition_failed"


def client_credential(settings: Settings) -> str | dict[str, str]:
    """Return msal's ``client_credential``: the client secret, or the certificate's key and id.

    Given the certificate itself, msal names it by SHA-256 thumbprint and signs with PS256;
    given only a thumbprint, it uses that SHA-1 thumbprint and RS256.
    """
    if not settings.uses_client_certificate:
        return settings.client_secret
    credential = {"private_key": settings.client_certificate_key}
    if settings.client_certificate:
        credential["public_certificate"] = settings.client_certificate
    else:
        credential["thumbprint"] = settings.client_certificate_thumbprint
    return credential


class GraphTokenProvider:
    """Acquires Graph tokens through one msal application, whose token cache serves repeats.

    App-only tokens (client credentials) are for the background mirror. Delegated tokens
    (on-behalf-of) act for the user whose API token the request carried. The msal application
    is built on first use, because building it fetches the authority's OpenID configuration.
    """

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None

    @property
    def app(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                settings = self._settings
                self._app = msal.ConfidentialClientApplication(
                    settings.client_id,
                    client_credential=client_credential(settings),
                    authority=f"{settings.authority}/{settings.tenant_id}",
                    http_client=self._session,
                    instance_discovery=settings.instance_discovery,
                )
            return self._app

    def app_token(self) -> str:
        """Return an app-only Graph access token, from msal's cache when still valid.

        :raise TokenAcquisitionFailed: the identity platform returned an error.
        """
        result = self.app.acquire_token_for_client(scopes=[self._settings.graph_scope])
        return _access_token_or_raise(result, "client credentials")

    def token_on_behalf_of(self, user_assertion: str, home_account_id: str) -> str:
        """Return a Graph token for the user of an API token, from msal's cache when it can.

        msal 1.39's ``acquire_token_on_behalf_of`` always calls the identity platform, so the
        cache is read first through the account that an earlier exchange stored. The scopes are
        named one by one, because a cached token lists granted scopes and never ``.default``.

        :param user_assertion: the validated API access token of the user.
        :param home_account_id: ``<object id>.<tenant id>`` of that user, msal's account key.
        :raise TokenAcquisitionFailed: the identity platform returned an error.
        """
        app = self.app
        scopes = self._settings.graph_delegated_scopes.split()
        for account in app.get_accounts():
            if account.get("home_account_id") == home_account_id:
                cached = app.acquire_token_silent(scopes, account=account)
                if cached and "access_token" in cached:
                    return cached["access_token"]
        result = app.acquire_token_on_behalf_of(user_assertion, scopes=scopes)
        return _access_token_or_raise(result, "on-behalf-of")


def _access_token_or_raise(result: dict[str, Any], flow: str) -> str:
    if "access_token" in result:
        return result["access_token"]
    # msal reports failures in the token response; these fields carry no secret.
    log.error(
        "Token request (%s) failed: error=%s description=%s correlation_id=%s",
        flow,
        result.get("error"),
        result.get("error_description"),
        result.get("correlation_id"),
    )
    raise TokenAcquisitionFailed(
        f"The identity platform did not issue a Graph token ({result.get('error')}).",
        correlation_id=result.get("correlation_id"),
    )
