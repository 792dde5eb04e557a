"""Local TLS material for sideloading the add-in: a development CA and a localhost certificate.

Outlook loads add-ins only over HTTPS, so ``mailgrip demo --https`` needs a certificate that
the machine trusts. ``mailgrip dev-certs`` creates a CA of its own for this machine. The user
trusts that CA once, and it signs the certificate for ``localhost``, ``127.0.0.1`` and ``::1``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_SIZE = 2048
CA_VALIDITY = dt.timedelta(days=3650)
# Apple platforms reject TLS server certificates valid for more than 825 days, and 397 days
# also meets the CA/Browser Forum limit that browsers apply to public certificates.
SERVER_VALIDITY = dt.timedelta(days=397)
DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class DevCertificates:
    """The PEM files in one folder: the CA certificate and key, the server certificate and key."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "mailgrip-dev-ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "mailgrip-dev-ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "localhost.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "localhost-key.pem"

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.ca_cert, self.ca_key, self.server_cert, self.server_key)


class DevCertificatesExist(Exception):
    """Certificate files exist already and overwriting them was not asked for."""


def create_dev_certificates(folder: Path, *, force: bool = False) -> DevCertificates:
    """Write a new CA and a localhost certificate signed by it into ``folder``.

    Private keys are written with mode 0600 and never readable by other users.

    :raise DevCertificatesExist: one of the files exists and ``force`` is false.
    """
    files = DevCertificates(folder)
    existing = [path for path in files.paths if path.exists()]
    if existing and not force:
        raise DevCertificatesExist(
            f"{existing[0]} exists already; a new CA would have to be trusted again. Pass "
            "--force to replace the files."
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mailgrip development"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Mailgrip development CA {now:%Y-%m-%d}"),
        ]
    )
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now, CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    names = [x509.DNSName(name) for name in DNS_NAMES] + [
        x509.IPAddress(ipaddress.ip_address(address)) for address in IP_ADDRESSES
    ]
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DNS_NAMES[0])])
    server_cert = (
        _builder(server_name, ca_name, server_key.public_key(), now, SERVER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    _write_key(files.ca_key, ca_key)
    _write_key(files.server_key, server_key)
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _builder(subject, issuer, public_key, now: dt.datetime, validity: dt.timedelta):
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    # O_EXCL with mode 0600 means the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
