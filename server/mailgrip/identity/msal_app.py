"""Graph tokens through msal: one ConfidentialClientApplication per process."""

from __future__ import annotations

import logging
import threading

import msal
import requests

from ..config import Settings
from ..errors import MailgripError

log = logging.getLogger(__name__)


class TokenAcquisitionFailed(MailgripError):
    """The identity platform refused to issue a token."""

    status = 502
    code = "token_acquisition_failed"


class GraphTokenProvider:
    """Acquires app-only Graph tokens (client credentials) and caches them in msal's cache.

    The msal application is built on first use, because building it fetches the authority's
    OpenID configuration over the network.
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
                    client_credential=settings.client_secret,
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

    def token_on_behalf_of(self, user_assertion: str) -> str:
        """Exchange a user's API token for a Graph token for that user (on-behalf-of flow)."""
        result = self.app.acquire_token_on_behalf_of(
            user_assertion, scopes=[self._settings.graph_scope]
        )
        return _access_token_or_raise(result, "on-behalf-of")


def _access_token_or_raise(result: dict, flow: str) -> str:
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
