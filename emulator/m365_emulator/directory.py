"""The emulated tenant: its settings, its app registrations, and Graph's permissions."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography import x509

TENANT_ID = "5d2b4a39-8e1c-4f6a-9b7d-2c3e4f5a6b7c"
MAILGRIP_CLIENT_ID = "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607"
MAILGRIP_SERVICE_PRINCIPAL_ID = "c9e8d7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"
PUBLIC_CLIENT_ID = "e7d6c5b4-a392-4810-b7c6-d5e4f3a2b1c0"
PUBLIC_SERVICE_PRINCIPAL_ID = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"
DEFAULT_ADDIN_ID = "8b4fd0f6-0c0b-4b36-9a55-1f2b3c4d5e6f"

GRAPH_RESOURCE = "https://graph.microsoft.com"
# Graph's well-known application id; a scope or audience may name Graph either way.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_AUDIENCES = frozenset({GRAPH_RESOURCE, GRAPH_APP_ID})
GRAPH_DELEGATED_SCOPES = frozenset(
    {
        "Mail.Read",
        "Mail.ReadWrite",
        "Mail.Send",
        "User.Read",
        "Mail.Read.Shared",
        "Mail.ReadWrite.Shared",
    }
)
# Delegated permissions that reach mailboxes the user was given access to, not only their own.
GRAPH_SHARED_SCOPES = frozenset({"Mail.Read.Shared", "Mail.ReadWrite.Shared"})
# ExchangeMessageTrace.Read.All lets Mailgrip ask message trace about delivery per recipient,
# and GroupMember.Read.All whether an address is a distribution list of the tenant.
GRAPH_APP_ROLES = (
    "Mail.ReadWrite", "Mail.Send", "ExchangeMessageTrace.Read.All", "GroupMember.Read.All"
)
# Scopes that ask for an ID token or a refresh token rather than for access to a resource.
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
API_SCOPE = "access_as_user"


@dataclass(frozen=True)
class AppRegistration:
    """One client application: public, or confidential with a secret or certificates."""

    client_id: str
    display_name: str
    service_principal_id: str
    secret: str | None = None
    # Delegated Graph permissions consented for the app, granted for ``.default``.
    graph_delegated_scopes: tuple[str, ...] = ()
    # Scopes the app's own API exposes as ``api://<client_id>/<scope>``.
    api_scopes: frozenset[str] = frozenset()
    # Redirect URIs of the "Single-page application" platform, for the code flow with PKCE.
    spa_redirect_uris: tuple[str, ...] = ()
    # Redirect URIs of the "Web" platform, whose codes only the client's credentials redeem.
    web_redirect_uris: tuple[str, ...] = ()
    # Certificates whose private keys may sign client assertions for this app.
    certificates: tuple[x509.Certificate, ...] = ()

    @property
    def is_public(self) -> bool:
        return self.secret is None and not self.certificates

    def redirect_uris(self, platform: str) -> tuple[str, ...]:
        """Return the redirect URIs of one platform, ``spa`` or ``web``."""
        return self.web_redirect_uris if platform == "web" else self.spa_redirect_uris

    def platform_of(self, redirect_uri: str) -> str | None:
        """Return the platform (``spa`` or ``web``) that registered a redirect URI, or None."""
        if redirect_uri in self.spa_redirect_uris:
            return "spa"
        if redirect_uri in self.web_redirect_uris:
            return "web"
        return None

    def secret_matches(self, candidate: str) -> bool:
        """Compare in constant time so the comparison leaks no prefix of the secret."""
        if self.secret is None:
            return False
        return hmac.compare_digest(self.secret.encode(), candidate.encode())


def default_registrations(client_secret: str) -> dict[str, AppRegistration]:
    """Return Mailgrip's confidential app and the public client of the task pane demo."""
    mailgrip = AppRegistration(
        client_id=MAILGRIP_CLIENT_ID,
        display_name="Mailgrip",
        service_principal_id=MAILGRIP_SERVICE_PRINCIPAL_ID,
        secret=client_secret,
        graph_delegated_scopes=("Mail.Read", "Mail.Send", "Mail.Read.Shared"),
        api_scopes=frozenset({API_SCOPE}),
    )
    task_pane = AppRegistration(
        client_id=PUBLIC_CLIENT_ID,
        display_name="Mailgrip task pane (demo sign-in)",
        service_principal_id=PUBLIC_SERVICE_PRINCIPAL_ID,
        graph_delegated_scopes=("User.Read",),
    )
    return {app.client_id: app for app in (mailgrip, task_pane)}


def new_client_secret() -> str:
    """Return a random client secret; every emulator instance gets its own."""
    return secrets.token_urlsafe(32)


def is_loopback_host(host: str) -> bool:
    """Tell whether a URL host is ``localhost`` or a loopback IP address."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_loopback_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        # An unclosed "[" around an IPv6 address, for example.
        return False
    return parts.scheme in ("http", "https") and is_loopback_host(host)


@dataclass
class EmulatorConfig:
    """Settings of one emulator: fixed ids, its own base URL and where Mailgrip listens."""

    tenant_id: str = TENANT_ID
    base_url: str = ""
    mailgrip_url: str = "http://127.0.0.1:5000"
    # PEM file of the CA that signed Mailgrip's certificate, when Mailgrip serves https with a
    # development CA (`mailgrip demo --https`); None trusts the system's CAs.
    mailgrip_ca: str | None = None
    addin_id: str = DEFAULT_ADDIN_ID
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/{self.tenant_id}/v2.0"

    @property
    def graph_base(self) -> str:
        return f"{self.base_url}/v1.0"

    @property
    def mailgrip_verify(self) -> str | bool:
        """What requests' ``verify=`` needs for calls to Mailgrip: its CA file, or True."""
        return self.mailgrip_ca or True

    def update(
        self,
        mailgrip_url: str | None = None,
        addin_id: str | None = None,
        mailgrip_ca: str | None = None,
    ) -> None:
        """Change where Mailgrip listens, the CA its certificate is from, or the add-in id.

        :raise ValueError: ``mailgrip_url`` is not an http(s) URL on a loopback host, because
            the emulator sends requests only to this machine, or ``addin_id`` is not a string.
        """
        if mailgrip_url is not None:
            if not _is_loopback_http_url(mailgrip_url):
                raise ValueError(
                    f"mailgripUrl {mailgrip_url!r} is invalid; use an http(s) URL on 127.0.0.1, "
                    "::1 or localhost."
                )
        if addin_id is not None and (not isinstance(addin_id, str) or not addin_id.strip("{} ")):
            raise ValueError(
                f"addinId {addin_id!r} is invalid; use the add-in's id from its manifest, a "
                "string such as 8b4fd0f6-0c0b-4b36-9a55-1f2b3c4d5e6f."
            )
        with self._lock:
            if mailgrip_url is not None:
                self.mailgrip_url = mailgrip_url.rstrip("/")
            if addin_id is not None:
                self.addin_id = addin_id.strip("{} ").lower()
            if mailgrip_ca is not None:
                self.mailgrip_ca = mailgrip_ca
