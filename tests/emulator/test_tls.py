"""TLS material: a CA and a loopback server certificate, created once and reused."""

from __future__ import annotations

import ipaddress
import socket
import ssl

from cryptography import x509

from m365_emulator.tls import ensure_tls_files


def test_certificates_cover_loopback_names(tmp_path):
    files = ensure_tls_files(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert server.public_key().key_size == 2048
    server.verify_directly_issued_by(ca)


def test_existing_files_are_reused(tmp_path):
    first = ensure_tls_files(tmp_path)
    before = first.server_cert.read_bytes(), first.ca_cert.read_bytes()
    second = ensure_tls_files(tmp_path)
    assert (second.server_cert.read_bytes(), second.ca_cert.read_bytes()) == before


def test_invalid_server_certificate_is_replaced(tmp_path):
    files = ensure_tls_files(tmp_path)
    ca_before = files.ca_cert.read_bytes()
    files.server_cert.write_text("not a certificate")
    ensure_tls_files(tmp_path)
    assert files.server_cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert files.ca_cert.read_bytes() == ca_before


def test_private_keys_are_owner_only(tmp_path):
    files = ensure_tls_files(tmp_path)
    assert files.ca_key.stat().st_mode & 0o077 == 0
    assert files.server_key.stat().st_mode & 0o077 == 0


def test_client_verifies_against_ca(emulator):
    context = ssl.create_default_context(cafile=str(emulator.ca_path))
    host, port = emulator.base_url.removeprefix("https://").rsplit(":", 1)
    with context.wrap_socket(
        socket.create_connection((host, int(port)), timeout=5),
        server_hostname=host,
    ) as connection:
        assert connection.version() in ("TLSv1.2", "TLSv1.3")
