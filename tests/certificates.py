"""Self-signed certificates generated per test, for certificate credentials."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from m365_emulator.keys import SigningKey


def make_certificate() -> tuple[str, str]:
    """Return a new RSA private key and its self-signed certificate, both as PEM text."""
    key = SigningKey.generate()
    certificate_pem = key.certificate.public_bytes(serialization.Encoding.PEM)
    return key.private_pem().decode(), certificate_pem.decode()
