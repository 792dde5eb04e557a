"""Shared fixtures: the emulator over HTTPS on loopback, a real database, a live Mailgrip.

The suite runs on SQLite by default and on PostgreSQL when ``MAILGRIP_TEST_DATABASE_URL`` is set
(``make test`` does both).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from chromium import browser, open_pane_page, page  # noqa: F401  (fixtures for every browser test)
from werkzeug.serving import make_server

from mailgrip import create_app
from mailgrip.config import Settings
from mailgrip.db import db
from mailgrip.demo.run import emulator_environ
from mailgrip.http import TimeoutSession
from mailgrip.identity.password_grant import acquire_token_by_password
from mailgrip.web.closing import closing_responses

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("MAILGRIP_FIXTURES", ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The folder of public real-world samples; tests that need it skip when it is missing."""
    if not FIXTURES.is_dir():
        pytest.skip(f"fixture folder {FIXTURES} is missing; set MAILGRIP_FIXTURES to its path")
    return FIXTURES


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    """The Microsoft 365 emulator, serving HTTPS on a free loopback port."""
    from m365_emulator.server import EmulatorServer

    server = EmulatorServer(state_dir=tmp_path_factory.mktemp("emulator"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite in a temporary folder, or a schema of its own in ``MAILGRIP_TEST_DATABASE_URL``.

    On PostgreSQL each run creates a fresh schema and points ``search_path`` at it, so runs
    that share the database do not see or drop each other's tables.
    """
    url = os.environ.get("MAILGRIP_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'mailgrip.sqlite3'}"
        return
    schema = f"mailgrip_test_{secrets.token_hex(4)}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def mailgrip_environ(emulator, database_url: str, storage_dir: Path, public_url: str) -> dict:
    """The ``MAILGRIP_*`` variables of a test Mailgrip pointed at the emulator."""
    return {
        **emulator_environ(emulator, storage_dir, public_url),
        "MAILGRIP_DATABASE_URL": database_url,
        "MAILGRIP_SECRET_KEY": "test-secret-key-that-is-only-used-in-tests",
        "MAILGRIP_MAX_UPLOAD_BYTES": str(8 * 1024 * 1024),
    }


@pytest.fixture(scope="session")
def _schema(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Create the tables once per run through the migrations, in an empty database or schema."""
    from flask_migrate import upgrade

    instance = tmp_path_factory.mktemp("schema")
    app = create_app(
        Settings.from_env(
            instance, {"MAILGRIP_DATABASE_URL": database_url, "MAILGRIP_SECRET_KEY": "schema"}
        ),
        instance_path=str(instance),
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()


@dataclass
class LiveServer:
    """A Mailgrip served by a real HTTP server in a thread."""

    url: str
    app: object


@pytest.fixture
def live_server(emulator, database_url, _schema, tmp_path) -> Iterator[LiveServer]:
    """Mailgrip on a free loopback port, pointed at the emulator; tables emptied afterwards."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    environ = mailgrip_environ(emulator, database_url, tmp_path / "files", url)
    app = create_app(Settings.from_env(tmp_path, environ), instance_path=str(tmp_path))
    (tmp_path / "files").mkdir(exist_ok=True)
    server = make_server(
        "127.0.0.1", port, closing_responses(app), threaded=True, fd=sock.fileno()
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    emulator.configure(mailgrip_url=url)
    yield LiveServer(url=url, app=app)
    server.shutdown()
    thread.join(timeout=5)
    sock.close()
    with app.app_context():
        _empty_tables()
        db.engine.dispose()
    emulator.reset()


def _empty_tables() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(live_server):
    """The Mailgrip application behind ``live_server``, with an app context pushed."""
    with live_server.app.app_context():
        yield live_server.app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class User:
    """A user of the emulated tenant, with a password for the demo sign-in."""

    id: str
    address: str
    display_name: str
    password: str


@pytest.fixture
def make_user(emulator):
    """Create users in the emulated tenant: ``make_user("alice@contoso.example")``."""

    def factory(address: str, display_name: str | None = None) -> User:
        password = "correct horse battery staple"
        created = emulator.create_user(address, display_name or address.split("@")[0], password)
        return User(created["id"], address, created["displayName"], password)

    return factory


@pytest.fixture
def api_token(emulator):
    """Get a real API access token for a user from the emulator (password grant)."""

    def acquire(user: User) -> str:
        session = TimeoutSession(timeout=30, verify=str(emulator.ca_path))
        granted = acquire_token_by_password(
            session,
            f"{emulator.base_url}/{emulator.tenant_id}",
            emulator.public_client_id,
            user.address,
            user.password,
            [f"api://{emulator.client_id}/access_as_user"],
        )
        return granted.access_token

    return acquire


@pytest.fixture
def alice(make_user) -> User:
    return make_user("alice@contoso.example", "Alice Sender")


@pytest.fixture
def alice_headers(alice, api_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(alice)}"}
