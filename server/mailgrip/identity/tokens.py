"""Validation of identity-platform v2 access tokens sent by the task pane and the add-in."""

from __future__ import annotations

import logging
import threading
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

    An unknown ``kid`` triggers one refetch, because the identity platform rotates its keys.
    """

    def __init__(self, session: requests.Session, openid_configuration_url: str) -> None:
        self._session = session
        self._configuration_url = openid_configuration_url
        self._lock = threading.Lock()
        self._issuer: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            self._refresh()
        assert self._issuer is not None
        return self._issuer

    def signing_key(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is None:
            self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise TokenInvalid(f"The token was signed with an unknown key id {kid!r}.")
        return key

    def _refresh(self) -> None:
        with self._lock:
            try:
                configuration = self._get_json(self._configuration_url)
                jwks = self._get_json(configuration["jwks_uri"])
            except (requests.RequestException, KeyError, ValueError) as error:
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
