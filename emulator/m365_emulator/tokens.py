"""Issuing and checking RS256 JWTs shaped like identity platform v2 tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .directory import AppRegistration, EmulatorConfig
from .keys import KeySet, SigningKey, b64url

ACCESS_TOKEN_LIFETIME = 3600
ID_TOKEN_LIFETIME = 3600
# Tokens issued a little in the past tolerate small clock differences between processes.
NOT_BEFORE_SKEW = 300
MAX_REFRESH_TOKENS = 10_000


class TokenRejected(Exception):
    """A presented token failed a check; the message names the check."""


@dataclass(frozen=True)
class TokenUser:
    """The claims-relevant facts about a user."""

    id: str
    address: str
    display_name: str
    # App roles of the resource the token is for; empty for Graph tokens.
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefreshGrant:
    """The grant behind a refresh token: a user, the client it was issued to, and scopes."""

    user_id: str
    client_id: str
    scopes: tuple[str, ...]


def _opaque(size: int = 16) -> str:
    return b64url(secrets.token_bytes(size))


def pairwise_subject(user_id: str, client_id: str) -> str:
    """Return a ``sub`` that differs per user and app, as the identity platform's does."""
    digest = hashlib.sha256(f"{user_id}:{client_id}".encode()).digest()
    return b64url(digest)[:43]


def client_info(user_id: str, tenant_id: str) -> str:
    """Encode the ``client_info`` that msal decodes to key its account cache."""
    payload = json.dumps({"uid": user_id, "utid": tenant_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode("ascii").rstrip("=")


class TokenService:
    """Mints access, ID and refresh tokens for the tenant and checks presented tokens."""

    def __init__(self, config: EmulatorConfig, keys: KeySet) -> None:
        self._config = config
        self._keys = keys
        self._lock = threading.Lock()
        self._refresh_grants: OrderedDict[str, RefreshGrant] = OrderedDict()

    def sign(
        self,
        claims: Mapping[str, Any],
        key: SigningKey | rsa.RSAPrivateKey | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign ``claims`` with RS256; ``headers`` override ``kid`` and ``typ``."""
        if key is None:
            key = self._keys.current
        if isinstance(key, SigningKey):
            header: dict[str, Any] = {"typ": "JWT", "kid": key.kid}
            private_key = key.private_key
        else:
            header = {"typ": "JWT"}
            private_key = key
        header.update(headers or {})
        algorithm = header.pop("alg", "RS256")
        return jwt.encode(dict(claims), private_key, algorithm=algorithm, headers=header)

    def base_claims(self, audience: str, client: AppRegistration, lifetime: int) -> dict[str, Any]:
        """Return the claims every access token carries."""
        now = int(time.time())
        return {
            "aud": audience,
            "iss": self._config.issuer,
            "iat": now,
            "nbf": now - NOT_BEFORE_SKEW,
            "exp": now + lifetime,
            "aio": _opaque(24),
            "azp": client.client_id,
            # 0 is a public client, 1 a client that authenticated with a secret.
            "azpacr": "0" if client.is_public else "1",
            "rh": f"0.{_opaque(24)}.",
            "tid": self._config.tenant_id,
            "uti": _opaque(16),
            "ver": "2.0",
        }

    def user_access_token(
        self,
        user: TokenUser,
        client: AppRegistration,
        audience: str,
        scopes: Iterable[str],
        lifetime: int = ACCESS_TOKEN_LIFETIME,
    ) -> str:
        """Mint a delegated access token: ``scp`` lists the granted scope names."""
        claims = self.base_claims(audience, client, lifetime)
        claims.update(
            {
                "name": user.display_name,
                "oid": user.id,
                "preferred_username": user.address,
                "scp": " ".join(scopes),
                "sub": pairwise_subject(user.id, client.client_id),
            }
        )
        if user.roles:
            claims["roles"] = list(user.roles)
        return self.sign(claims)

    def app_access_token(
        self,
        client: AppRegistration,
        audience: str,
        roles: Iterable[str],
        lifetime: int = ACCESS_TOKEN_LIFETIME,
    ) -> str:
        """Mint an app-only access token: ``roles`` instead of ``scp``, the app as subject."""
        claims = self.base_claims(audience, client, lifetime)
        claims.update(
            {
                "idtyp": "app",
                "oid": client.service_principal_id,
                "sub": client.service_principal_id,
                "roles": list(roles),
            }
        )
        return self.sign(claims)

    def id_token(self, user: TokenUser, client: AppRegistration, nonce: str | None = None) -> str:
        """Mint an ID token for ``client``; msal reads its claims to name the account.

        :param nonce: the authorization request's nonce, which msal compares with its flow's.
        """
        now = int(time.time())
        claims = {
            "aud": client.client_id,
            "iss": self._config.issuer,
            "iat": now,
            "nbf": now - NOT_BEFORE_SKEW,
            "exp": now + ID_TOKEN_LIFETIME,
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.address,
            "rh": f"0.{_opaque(24)}.",
            "sub": pairwise_subject(user.id, client.client_id),
            "tid": self._config.tenant_id,
            "uti": _opaque(16),
            "ver": "2.0",
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return self.sign(claims)

    def verify(self, token: str, audiences: Iterable[str]) -> dict[str, Any]:
        """Return the claims of a token this tenant signed for one of ``audiences``.

        :raise TokenRejected: the token is malformed, signed by an unknown key, expired, not
            yet valid, from another issuer or for another audience.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("The token is not a well-formed JWT.") from None
        if header.get("alg") != "RS256":
            raise TokenRejected(f"The token algorithm {header.get('alg')!r} is not RS256.")
        key = self._keys.find(str(header.get("kid", "")))
        if key is None:
            raise TokenRejected("The token is signed with a key that this tenant does not publish.")
        try:
            return jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=["RS256"],
                audience=list(audiences),
                issuer=self._config.issuer,
                options={"require": ["exp", "nbf", "iat", "aud", "iss", "tid", "oid"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("The token is not valid yet (nbf is in the future).") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("The token's audience is not accepted here.") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("The token was issued by another authority.") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("The token's signature is invalid.") from None
        except jwt.PyJWTError as error:
            raise TokenRejected(f"The token is invalid: {error}.") from None

    def issue_refresh_token(self, grant: RefreshGrant) -> str:
        """Store a grant and return the opaque refresh token that redeems it."""
        token = _opaque(48)
        with self._lock:
            self._refresh_grants[token] = grant
            while len(self._refresh_grants) > MAX_REFRESH_TOKENS:
                self._refresh_grants.popitem(last=False)
        return token

    def refresh_grant(self, token: str) -> RefreshGrant | None:
        """Return the grant behind a refresh token, or None when it is unknown."""
        with self._lock:
            return self._refresh_grants.get(token)

    def forget_refresh_tokens(self) -> None:
        """Revoke every refresh token, because the users they belong to are gone."""
        with self._lock:
            self._refresh_grants.clear()
