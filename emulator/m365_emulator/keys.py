"""RSA signing keys for tokens, published as a JWKS, with rotation."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

KEY_SIZE = 2048
# Keys that rotated out stay published for this many rotations, so tokens they signed still
# validate until they expire, as on the identity platform.
PUBLISHED_OLD_KEYS = 1


def b64url(data: bytes) -> str:
    """Encode bytes as unpadded base64url, the encoding of JWKs and JWTs."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_to_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair with the self-signed certificate that its JWK describes."""

    kid: str
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls) -> SigningKey:
        """Create a fresh key; ``kid`` is the certificate's SHA-1 thumbprint, as in Entra ID."""
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.emulator.invalid")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(private_key, hashes.SHA256())
        )
        thumbprint = b64url(certificate.fingerprint(hashes.SHA1()))  # noqa: S303 (x5t is SHA-1 by RFC 7517)
        return cls(kid=thumbprint, private_key=private_key, certificate=certificate)

    def private_pem(self) -> bytes:
        """Return the private key as unencrypted PKCS#8 PEM, the form PyJWT signs with."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def jwk(self, issuer: str) -> dict[str, object]:
        """Return the public JWK in the form the identity platform publishes."""
        numbers = self.private_key.public_key().public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _int_to_b64url(numbers.n),
            "e": _int_to_b64url(numbers.e),
            "x5c": [base64.b64encode(der).decode("ascii")],
            "issuer": issuer,
        }


class KeySet:
    """The current signing key and the recently rotated ones that are still published."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [SigningKey.generate()]

    @property
    def current(self) -> SigningKey:
        with self._lock:
            return self._keys[0]

    def published(self) -> list[SigningKey]:
        """Return the keys in the JWKS, current first."""
        with self._lock:
            return list(self._keys)

    def find(self, kid: str) -> SigningKey | None:
        """Return the published key with this ``kid``, or None."""
        with self._lock:
            return next((key for key in self._keys if key.kid == kid), None)

    def rotate(self) -> SigningKey:
        """Make a new key current; the previous one stays published for old tokens."""
        new_key = SigningKey.generate()
        with self._lock:
            self._keys = [new_key, *self._keys[:PUBLISHED_OLD_KEYS]]
        return new_key
