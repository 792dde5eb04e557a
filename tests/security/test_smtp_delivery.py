"""One-time codes mailed over SMTP to a real aiosmtpd server on loopback."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from builders import make_share
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from portal_helpers import events

from mailgrip.db import db
from mailgrip.verification import codes
from mailgrip.verification.models import VerificationCode

BOB = "bob@fabrikam.example"
USERNAME = "mailgrip"
PASSWORD = "smtp password 1"
# The code that the patched random source yields, so the tests can look for it in logs.
KNOWN_CODE = "424242"


@dataclass
class TlsMaterial:
    """A CA, a server certificate for 127.0.0.1 signed by it, and a CA bundle that trusts it."""

    cert: Path
    key: Path
    bundle: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TlsMaterial:
    """Generate a CA and a server certificate, so no key material lives in the repository."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Mailgrip test SMTP CA"))
        .issuer_name(_name("Mailgrip test SMTP CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    material = TlsMaterial(folder / "server.pem", folder / "server.key", folder / "ca.pem")
    material.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    material.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    material.bundle.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return material


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps accepted messages, or refuses at one step."""

    refuse: str | None = None  # "rcpt" or "data"
    messages: list[EmailMessage] = field(default_factory=list)
    tls_used: list[bool] = field(default_factory=list)
    authenticated: list[bool] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse == "rcpt":
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse == "data":
            return "554 5.7.1 Message rejected as spam"
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        self.tls_used.append(server.transport.get_extra_info("ssl_object") is not None)
        self.authenticated.append(session.authenticated)
        return "250 Message accepted"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    valid = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False makes aiosmtpd send the 535 reply for a failure itself.
    return AuthResult(success=valid, handled=False, auth_data=auth_data)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(tls):
    """Start aiosmtpd servers on loopback: ``smtp_server(security="starttls", refuse=None)``."""
    controllers = []

    def start(security: str = "starttls", refuse: str | None = None, auth: bool = True):
        inbox = Inbox(refuse=refuse)
        options: dict = {"hostname": "127.0.0.1", "port": _free_port()}
        if security == "starttls":
            options.update(tls_context=tls.server_context(), require_starttls=True)
        elif security == "tls":
            options.update(ssl_context=tls.server_context())
        if auth:
            # aiosmtpd offers AUTH only after STARTTLS, unless auth_require_tls is off, which
            # implicit TLS needs because its connection is encrypted from the start.
            options.update(authenticator=_authenticate, auth_required=True,
                           auth_require_tls=security == "starttls")
        controller = Controller(inbox, **options)
        controller.start()
        controllers.append(controller)
        return inbox, options["port"]

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def known_code(monkeypatch):
    # The code is random; fixing it lets the tests prove it never reaches a log line.
    monkeypatch.setattr(codes.secrets, "randbelow", lambda bound: int(KNOWN_CODE))


def _smtp_app(make_app, emulator, tls, port: int, tmp_path, **overrides: str | None):
    """Create an app that mails codes through the server on ``port``; None drops a setting."""
    bundle = tmp_path / "trusted.pem"
    bundle.write_bytes(Path(emulator.ca_path).read_bytes() + tls.bundle.read_bytes())
    settings = {
        "CODE_DELIVERY": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_USERNAME": USERNAME,
        "SMTP_PASSWORD": PASSWORD,
        "SMTP_FROM": "no-reply@contoso.example",
        "SMTP_TIMEOUT": "10",
        "CA_BUNDLE": str(bundle),
        **overrides,
    }
    return make_app(**{name: value for name, value in settings.items() if value is not None})


def _request_code(app, built, address: str = BOB):
    client = app.test_client()
    page = client.get(built.path).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"{built.path}/code", data={"address": address, "csrf_token": token})
    return client, token, response


def _codes() -> list[VerificationCode]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(VerificationCode)))


def test_starttls_with_auth_delivers_code(make_app, emulator, tls, smtp_server, sender, tmp_path):
    inbox, port = smtp_server("starttls")
    app = _smtp_app(make_app, emulator, tls, port, tmp_path)
    built = make_share(sender)

    client, token, response = _request_code(app, built)
    (mail,) = inbox.messages
    text = mail.get_body(("plain",)).get_content()
    code = next(word.rstrip(".") for word in text.split() if word.rstrip(".").isdigit())
    verified = client.post(
        f"{built.path}/verify", data={"address": BOB, "code": code, "csrf_token": token}
    )

    assert response.status_code == 303
    assert inbox.tls_used == [True]
    assert inbox.authenticated == [True]
    assert mail["To"] == BOB
    assert mail["From"] == "Mailgrip <no-reply@contoso.example>"
    assert mail.get_content_type() == "multipart/alternative"
    assert "Alice Sender" in mail["Subject"]
    assert code in mail.get_body(("html",)).get_content()
    assert built.link_token not in mail.as_string()
    assert verified.status_code == 303
    assert len(events("code_sent")) == 1


# aiosmtpd warns because it does not count implicit TLS as TLS for AUTH.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_tls_delivers_code(make_app, emulator, tls, smtp_server, sender, tmp_path):
    inbox, port = smtp_server("tls")
    app = _smtp_app(make_app, emulator, tls, port, tmp_path, SMTP_SECURITY="tls")
    built = make_share(sender)

    _, _, response = _request_code(app, built)

    assert response.status_code == 303
    assert inbox.tls_used == [True]
    assert inbox.authenticated == [True]
    assert len(inbox.messages) == 1


def test_plain_relay_without_auth(make_app, emulator, tls, smtp_server, sender, tmp_path):
    inbox, port = smtp_server("none", auth=False)
    app = _smtp_app(make_app, emulator, tls, port, tmp_path, SMTP_SECURITY="none",
                    SMTP_USERNAME="", SMTP_PASSWORD="")
    built = make_share(sender)

    _, _, response = _request_code(app, built)

    assert response.status_code == 303
    assert inbox.tls_used == [False]


def test_password_read_from_file(make_app, emulator, tls, smtp_server, sender, tmp_path):
    inbox, port = smtp_server("starttls")
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    app = _smtp_app(
        make_app, emulator, tls, port, tmp_path, SMTP_PASSWORD=None, SMTP_PASSWORD_FILE=str(secret)
    )
    built = make_share(sender)

    _, _, response = _request_code(app, built)

    assert response.status_code == 303
    assert inbox.authenticated == [True]
    assert app.extensions["mailgrip.settings"].smtp_password == PASSWORD


@pytest.mark.parametrize(
    ("refuse", "overrides", "logged"),
    [
        ("rcpt", {}, "550 5.1.1 Mailbox unavailable"),
        ("data", {}, "554 5.7.1 Message rejected as spam"),
        (None, {"SMTP_PASSWORD": "wrong"}, "535"),
    ],
)
def test_refusing_server_explained(
    make_app, emulator, tls, smtp_server, sender, tmp_path, caplog, known_code,
    refuse, overrides, logged,
):
    inbox, port = smtp_server("starttls", refuse=refuse)
    app = _smtp_app(make_app, emulator, tls, port, tmp_path, **overrides)
    built = make_share(sender)

    with caplog.at_level(logging.DEBUG):
        _, _, response = _request_code(app, built)

    assert response.status_code == 502
    assert "The code could not be sent" in response.get_data(as_text=True)
    assert inbox.messages == []
    # "mail.log" is aiosmtpd's own debug log of what the test server received.
    mailgrip_log = "\n".join(
        record.getMessage() for record in caplog.records if record.name != "mail.log"
    )
    assert logged in mailgrip_log
    assert KNOWN_CODE not in mailgrip_log
    assert PASSWORD not in mailgrip_log
    # Nothing of the failed request remains, so the recipient's hourly budget is untouched.
    assert _codes() == []
    assert events("code_sent") == []


def test_retry_after_refusal_succeeds(make_app, emulator, tls, smtp_server, sender, tmp_path):
    _, refusing_port = smtp_server("starttls", refuse="data")
    inbox, port = smtp_server("starttls")
    built = make_share(sender)

    _, _, failed = _request_code(_smtp_app(make_app, emulator, tls, refusing_port, tmp_path), built)
    _, _, sent = _request_code(_smtp_app(make_app, emulator, tls, port, tmp_path), built)

    assert failed.status_code == 502
    assert sent.status_code == 303
    assert len(inbox.messages) == 1


def test_starttls_not_offered_fails_before_auth(
    make_app, emulator, tls, smtp_server, sender, tmp_path, caplog
):
    inbox, port = smtp_server("none", auth=False)
    app = _smtp_app(make_app, emulator, tls, port, tmp_path)
    built = make_share(sender)

    with caplog.at_level(logging.INFO):
        _, _, response = _request_code(app, built)

    assert response.status_code == 502
    assert "STARTTLS" in caplog.text
    assert inbox.messages == []


def test_untrusted_certificate_fails(
    make_app, emulator, tls, smtp_server, sender, tmp_path, caplog
):
    inbox, port = smtp_server("starttls")
    app = _smtp_app(make_app, emulator, tls, port, tmp_path, CA_BUNDLE=str(emulator.ca_path))
    built = make_share(sender)

    with caplog.at_level(logging.INFO):
        _, _, response = _request_code(app, built)

    assert response.status_code == 502
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert inbox.messages == []


def test_unreachable_server_fails(make_app, emulator, tls, sender, tmp_path, caplog):
    app = _smtp_app(make_app, emulator, tls, _free_port(), tmp_path)
    built = make_share(sender)

    with caplog.at_level(logging.INFO):
        _, _, response = _request_code(app, built)

    assert response.status_code == 502
    assert "ConnectionRefusedError" in caplog.text


def test_html_part_escapes_sender_name(make_app, emulator, tls, smtp_server, sender, tmp_path):
    inbox, port = smtp_server("starttls")
    app = _smtp_app(make_app, emulator, tls, port, tmp_path)
    sender.display_name = '<script>alert(1)</script> "Alice" & co'
    db.session.commit()
    built = make_share(sender)

    _request_code(app, built)
    (mail,) = inbox.messages
    html = mail.get_body(("html",)).get_content()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Alice&quot; &amp; co" in html
    assert '<script>alert(1)</script> "Alice" & co' in mail.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"MAILGRIP_SMTP_FROM": "a@b.example"}, "MAILGRIP_SMTP_HOST"),
        ({"MAILGRIP_SMTP_HOST": "127.0.0.1"}, "MAILGRIP_SMTP_FROM"),
    ],
)
def test_smtp_settings_required(tmp_path, overrides, missing):
    from mailgrip.config import ConfigError, Settings

    environ = {"MAILGRIP_SECRET_KEY": "x" * 40, "MAILGRIP_CODE_DELIVERY": "smtp", **overrides}
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env(tmp_path, environ)


def test_unreadable_password_file_named(tmp_path):
    from mailgrip.config import ConfigError, Settings

    environ = {
        "MAILGRIP_SECRET_KEY": "x" * 40,
        "MAILGRIP_SMTP_PASSWORD_FILE": str(tmp_path / "missing"),
    }
    with pytest.raises(ConfigError, match="MAILGRIP_SMTP_PASSWORD_FILE"):
        Settings.from_env(tmp_path, environ)
