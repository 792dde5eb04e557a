"""`mailgrip dev-certs`: a local CA and a localhost certificate for sideloading the add-in."""

from __future__ import annotations

import ipaddress
import stat

from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from mailgrip.cli import main
from mailgrip.devcerts import DevCertificates


def _load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_dev_certs_creates_ca_and_server(tmp_path):
    folder = tmp_path / "certs"

    result = CliRunner().invoke(main, ["dev-certs", "--dir", str(folder)])

    assert result.exit_code == 0, result.output
    files = DevCertificates(folder)
    ca = _load(files.ca_cert)
    server = _load(files.server_cert)
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    usages = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert str(files.ca_cert) in result.output


def test_dev_certs_keys_private(tmp_path):
    CliRunner().invoke(main, ["dev-certs", "--dir", str(tmp_path)])
    files = DevCertificates(tmp_path)

    for key in (files.ca_key, files.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key.name


def test_dev_certs_refuses_overwrite(tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["dev-certs", "--dir", str(tmp_path)])
    files = DevCertificates(tmp_path)
    before = files.ca_cert.read_bytes()

    result = runner.invoke(main, ["dev-certs", "--dir", str(tmp_path)])

    assert result.exit_code == 1
    assert "--force" in result.output
    assert str(tmp_path) in result.output
    assert files.ca_cert.read_bytes() == before


def test_dev_certs_force_replaces(tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["dev-certs", "--dir", str(tmp_path)])
    files = DevCertificates(tmp_path)
    before = files.ca_cert.read_bytes()

    result = runner.invoke(main, ["dev-certs", "--dir", str(tmp_path), "--force"])

    assert result.exit_code == 0, result.output
    assert files.ca_cert.read_bytes() != before
    _load(files.server_cert).verify_directly_issued_by(_load(files.ca_cert))
    assert stat.S_IMODE(files.server_key.stat().st_mode) == 0o600
