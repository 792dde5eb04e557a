"""Certificate credentials: checking the signed JWT that a confidential client sends.

A client that authenticates with a certificate sends ``client_assertion_type`` =
``urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a ``client_assertion``: a JWT
whose ``iss`` and ``sub`` are its client id and whose ``aud`` is the token endpoint, signed with
the certificate's private key. Its header names the certificate by thumbprint: ``x5t`` (SHA-1,
with RS256) or ``x5t#S256`` (SHA-256, with PS256, which msal 1.35 and later send when given the
certificate itself).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "PS256"]
# Seconds of clock difference tolerated between the client and the emulator.
ASSERTION_LEEWAY = 300


class AssertionRejected(Exception):
    """A client assertion failed a check: ``code`` is the AADSTS number for it."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _matching_certificate(
    header: dict, certificates: Iterable[x509.Certificate]
) -> x509.Certificate | None:
    # RFC 7515 specifies unpadded base64url, but msal 1.39 pads its thumbprints with "=".
    sha256 = str(header.get("x5t#S256", "")).rstrip("=")
    sha1 = str(header.get("x5t", "")).rstrip("=")
    for certificate in certificates:
        if sha256 and sha256 == _b64url(certificate.fingerprint(hashes.SHA256())):
            return certificate
        if sha1 and sha1 == _b64url(certificate.fingerprint(hashes.SHA1())):  # noqa: S303 (x5t is SHA-1 by RFC 7515)
            return certificate
    return None


def verify_client_assertion(
    assertion: str,
    client_id: str,
    certificates: Iterable[x509.Certificate],
    token_endpoints: Iterable[str],
) -> None:
    """Check a client assertion against the certificates registered for ``client_id``.

    :raise AssertionRejected: malformed, signed by an unregistered certificate, badly signed,
        expired, for another endpoint, or issued by another client.
    """
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise AssertionRejected(
            50027, "Invalid JWT token. The client assertion is not a well-formed JWT."
        ) from None
    certificate = _matching_certificate(header, certificates)
    if certificate is None:
        raise AssertionRejected(
            700027,
            "Client assertion contains an invalid signature. [Reason - The key was not found., "
            f"Thumbprint of key used by client: '{header.get('x5t#S256') or header.get('x5t')}'",
        )
    try:
        claims = jwt.decode(
            assertion,
            certificate.public_key(),
            algorithms=ASSERTION_ALGORITHMS,
            audience=list(token_endpoints),
            leeway=ASSERTION_LEEWAY,
            options={"require": ["exp", "aud", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise AssertionRejected(
            700024, "Client assertion is not within its valid time range."
        ) from None
    except jwt.InvalidAudienceError:
        raise AssertionRejected(
            700021, "Client assertion audience claim does not match Realm issuer."
        ) from None
    except jwt.PyJWTError as error:
        raise AssertionRejected(
            700027, f"Client assertion failed signature validation. [Reason - {error}]"
        ) from None
    if claims["iss"] != client_id or claims["sub"] != client_id:
        raise AssertionRejected(
            700023,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        )
