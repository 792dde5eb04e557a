"""Validation of identity-platform v2 access tokens sent by the task pane and the add-in."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
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
# Refetches of the JWKS for unknown key ids come from a bucket of JWKS_REFETCH_BURST, refilled
# by one every JWKS_REFETCH_INTERVAL_SECONDS. One forged kid therefore does not delay the
# refetch for a genuinely rotated key. A stream of random kids can use the bucket up and delay
# it, but cannot make Mailgrip call the authority more than 12 times a minute after the burst.
JWKS_REFETCH_BURST = 3
JWKS_REFETCH_INTERVAL_SECONDS = 5.0
# A kid that a fresh JWKS did not contain is not looked up again for this long, so replaying
# one forged token costs no refetch. Up to MAX_FAILED_KIDS such kids are kept.
JWKS_FAILED_KID_SECONDS = 300.0
MAX_FAILED_KIDS = 1024
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

    The identity platform rotates its keys, so a ``kid`` not seen before triggers one refetch.
    Refetches come from a small bucket, so that forged tokens cannot make Mailgrip call the
    authority once per token and get it throttled there. A kid that a fresh JWKS lacked is
    remembered, so that repeating it refetches nothing.
    """

    def __init__(
        self,
        session: requests.Session,
        openid_configuration_url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._configuration_url = openid_configuration_url
        self._clock = clock
        self._lock = threading.Lock()
        self._issuer: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._refetches = float(JWKS_REFETCH_BURST)
        self._refetches_at = clock()
        self._retry_at: float | None = None
        # kid -> clock time of the refetch that did not find it, oldest first.
        self._failed_kids: OrderedDict[str, float] = OrderedDict()

    @property
    def issuer(self) -> str:
        if self._issuer is None and self._may_refresh(None):
            self._refresh(None)
        if self._issuer is None:
            raise TokenInvalid(
                "The identity platform's signing keys could not be fetched; try again later."
            )
        return self._issuer

    def signing_key(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is None and self._may_refresh(kid):
            self._refresh(kid)
            key = self._keys.get(kid)
        if key is None:
            raise TokenInvalid(f"The token was signed with an unknown key id {kid!r}.")
        return key

    def _may_refresh(self, kid: str | None) -> bool:
        """Tell whether a refetch for ``kid`` (None: for the issuer) is allowed now."""
        now = self._clock()
        if self._retry_at is not None and now < self._retry_at:
            return False
        failed_at = self._failed_kids.get(kid) if kid is not None else None
        if failed_at is not None and now - failed_at < JWKS_FAILED_KID_SECONDS:
            return False
        return self._available_refetches(now) >= 1

    def _available_refetches(self, now: float) -> float:
        refilled = (now - self._refetches_at) / JWKS_REFETCH_INTERVAL_SECONDS
        return min(float(JWKS_REFETCH_BURST), self._refetches + refilled)

    def _refresh(self, kid: str | None) -> None:
        with self._lock:
            # Threads that waited for the lock find the keys just fetched and fetch nothing.
            if (kid is not None and kid in self._keys) or not self._may_refresh(kid):
                return
            now = self._clock()
            self._refetches = self._available_refetches(now) - 1
            self._refetches_at = now
            try:
                configuration = self._get_json(self._configuration_url)
                jwks = self._get_json(configuration["jwks_uri"])
            except (requests.RequestException, KeyError, ValueError) as error:
                # Try again after a short pause: while no keys are known, no sign-in works.
                self._retry_at = now + JWKS_RETRY_AFTER_FAILURE_SECONDS
                log.error(
                    "Fetching signing keys from %s failed: %s", self._configuration_url, error
                )
                raise TokenInvalid(
                    "The identity platform's signing keys could not be fetched; try again later."
                ) from error
            self._retry_at = None
            self._issuer = configuration["issuer"]
            keys = {}
            for entry in jwks.get("keys", []):
                if entry.get("kty") == "RSA" and "kid" in entry:
                    keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
            self._keys = keys
            if kid is not None and kid not in keys:
                self._remember_failed_kid(kid, now)

    def _remember_failed_kid(self, kid: str, now: float) -> None:
        self._failed_kids.pop(kid, None)
        self._failed_kids[kid] = now
        while len(self._failed_kids) > MAX_FAILED_KIDS:
            self._failed_kids.popitem(last=False)

    def _get_json(self, url: str) -> dict:
        response = self._session.get(url)
        response.raise_for_status()
        return response.json()


# The multi-tenant OpenID configuration names its issuer with this placeholder for the tenant id.
TENANT_PLACEHOLDER = "{tenantid}"


class TokenValidator:
    """Checks signature, issuer, audience, tenant, lifetime and scope of API bearer tokens.

    With one allowed tenant, keys and issuer come from that tenant's OpenID configuration. With
    several, they come from the ``organizations`` configuration, whose issuer names the tenant
    with a placeholder, and each token's issuer must name the tenant in its ``tid``.
    """

    def __init__(
        self,
        settings: Settings,
        session: requests.Session,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._tenants = frozenset(settings.allowed_tenants)
        if len(self._tenants) == 1:
            (document_tenant,) = self._tenants
        else:
            document_tenant = "organizations"
        self._jwks = JwksCache(
            session,
            f"{settings.authority}/{document_tenant}/v2.0/.well-known/openid-configuration",
            clock=clock,
        )

    def validate(self, token: str) -> Caller:
        """Return the caller of a valid token.

        :raise TokenInvalid: for any token that is malformed or fails a check.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("The bearer token is not a well-formed JWT.") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenInvalid(f"The token algorithm {header.get('alg')!r} is not accepted.")
        key = self._jwks.signing_key(str(header.get("kid", "")))
        claims = self._decode(token, key)
        self._check_tenant_and_issuer(claims)
        scopes = frozenset(str(claims.get("scp", "")).split())
        if self._settings.api_scope not in scopes:
            raise TokenInvalid(f"The bearer token lacks the scope {self._settings.api_scope!r}.")
        return Caller(
            tenant_id=claims["tid"],
            object_id=claims["oid"],
            address=claims.get("preferred_username", ""),
            name=claims.get("name", ""),
            scopes=scopes,
            roles=_roles(claims),
        )

    def _decode(self, token: str, key: jwt.PyJWK) -> dict:
        """Verify signature, audience and lifetime. The caller checks tenant and issuer next."""
        settings = self._settings
        audiences = [settings.api_audience, settings.api_app_id_uri]
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=audiences,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "nbf", "iss", "aud", "tid", "oid"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid("The bearer token has expired; sign in again.") from None
        except jwt.ImmatureSignatureError:
            raise TokenInvalid("The bearer token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise TokenInvalid("The bearer token was not issued for Mailgrip.") from None
        except jwt.PyJWTError as error:
            raise TokenInvalid(f"The bearer token is invalid: {error}.") from None

    def _check_tenant_and_issuer(self, claims: dict) -> None:
        tenant = str(claims["tid"]).lower()
        if tenant not in self._tenants:
            raise TokenInvalid("The bearer token belongs to a tenant that is not allowed.")
        issuer = self._jwks.issuer
        expected = issuer.replace(TENANT_PLACEHOLDER, str(claims["tid"]))
        if claims["iss"] != expected:
            raise TokenInvalid("The bearer token comes from an issuer that is not trusted.")


def _roles(claims: dict) -> frozenset[str]:
    """Return the app roles of a token; ``roles`` is a list of strings when present."""
    roles = claims.get("roles", [])
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(role for role in roles if isinstance(role, str))
