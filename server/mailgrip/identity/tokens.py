"""Validation of identity-platform v2 access tokens sent by the task pane and the add-in."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt
import requests

from ..config import Settings
from ..errors import TokenInvalid

log = logging.getLogger(__name__)

# The identity platform signs access tokens with RS256 only; fixing the list rejects "none"
# and HS256 tokens forged with the public key.
ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 60
# The identity platform publishes a new signing key well before it signs with it, so a few
# minutes' wait before trusting a kid that is new to Mailgrip costs no valid sign-in.
JWKS_REFRESH_COOLDOWN_SECONDS = 300.0
JWKS_RETRY_AFTER_FAILURE_SECONDS = 10.0


@dataclass(frozen=True)
class Caller:
    """The signed-in user behind a validated token."""

    tenant_id: str
    object_id: str
    address: str
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)


class JwksCache:
    """Signing keys of one authority, fetched through its OpenID configuration.

    An unknown ``kid`` triggers a refetch, because the identity platform rotates its keys, but
    at most once per ``refresh_cooldown`` seconds: otherwise anyone could make Mailgrip call the
    authority once per forged token and get it throttled there.
    """

    def __init__(
        self,
        session: requests.Session,
        openid_configuration_url: str,
        refresh_cooldown: float = JWKS_REFRESH_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._configuration_url = openid_configuration_url
        self._refresh_cooldown = refresh_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._issuer: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._refreshed_at: float | None = None

    @property
    def issuer(self) -> str:
        if self._issuer is None and self._may_refresh():
            self._refresh()
        if self._issuer is None:
            raise TokenInvalid(
                "The identity platform's signing keys could not be fetched; try again later."
            )
        return self._issuer

    def signing_key(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is None and self._may_refresh():
            self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise TokenInvalid(f"The token was signed with an unknown key id {kid!r}.")
        return key

    def _may_refresh(self) -> bool:
        if self._refreshed_at is None:
            return True
        return self._clock() - self._refreshed_at >= self._refresh_cooldown

    def _refresh(self) -> None:
        with self._lock:
            # Threads that waited for the lock find the keys just fetched and fetch nothing.
            if not self._may_refresh():
                return
            now = self._clock()
            try:
                configuration = self._get_json(self._configuration_url)
                jwks = self._get_json(configuration["jwks_uri"])
            except (requests.RequestException, KeyError, ValueError) as error:
                # Try again after a short pause, not after the whole cooldown: while no keys
                # are known, no sign-in works.
                self._refreshed_at = now - self._refresh_cooldown + JWKS_RETRY_AFTER_FAILURE_SECONDS
                log.error(
                    "Fetching signing keys from %s failed: %s", self._configuration_url, error
                )
                raise TokenInvalid(
                    "The identity platform's signing keys could not be fetched; try again later."
                ) from error
            self._issuer = configuration["issuer"]
            keys = {}
            for entry in jwks.get("keys", []):
                if entry.get("kty") == "RSA" and "kid" in entry:
                    keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
            self._keys = keys
            self._refreshed_at = now

    def _get_json(self, url: str) -> dict:
        response = self._session.get(url)
        response.raise_for_status()
        return response.json()


class TokenValidator:
    """Checks signature, issuer, audience, tenant, lifetime and scope of API bearer tokens."""

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self._settings = settings
        tenant = settings.tenant_id or "common"
        self._jwks = JwksCache(
            session, f"{settings.authority}/{tenant}/v2.0/.well-known/openid-configuration"
        )

    def validate(self, token: str) -> Caller:
        """Return the caller of a valid token.

        :raise TokenInvalid: for any token that is malformed or fails a check.
        """
        settings = self._settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("The bearer token is not a well-formed JWT.") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenInvalid(f"The token algorithm {header.get('alg')!r} is not accepted.")
        key = self._jwks.signing_key(str(header.get("kid", "")))
        audiences = [settings.api_audience, f"api://{settings.api_audience}"]
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=audiences,
                issuer=self._jwks.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "nbf", "iss", "aud", "tid", "oid"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid("The bearer token has expired; sign in again.") from None
        except jwt.ImmatureSignatureError:
            raise TokenInvalid("The bearer token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise TokenInvalid("The bearer token was not issued for Mailgrip.") from None
        except jwt.InvalidIssuerError:
            raise TokenInvalid(
                "The bearer token comes from an issuer that is not trusted."
            ) from None
        except jwt.PyJWTError as error:
            raise TokenInvalid(f"The bearer token is invalid: {error}.") from None

        if settings.tenant_id and claims["tid"] != settings.tenant_id:
            raise TokenInvalid("The bearer token belongs to a tenant that is not allowed.")
        scopes = frozenset(str(claims.get("scp", "")).split())
        if settings.api_scope not in scopes:
            raise TokenInvalid(f"The bearer token lacks the scope {settings.api_scope!r}.")
        return Caller(
            tenant_id=claims["tid"],
            object_id=claims["oid"],
            address=claims.get("preferred_username", ""),
            name=claims.get("name", ""),
            scopes=scopes,
            roles=frozenset(claims.get("roles", [])),
        )
