"""Fixtures for security tests: Mailgrip apps with settings of their own on the shared database."""

from __future__ import annotations

import threading

import pytest
from conftest import mailgrip_environ
from portal_helpers import sender  # noqa: F401  (a fixture)
from werkzeug.serving import make_server

from mailgrip import create_app
from mailgrip.config import Settings
from mailgrip.db import db


@pytest.fixture
def make_app(live_server, emulator, database_url, tmp_path):
    """Create Mailgrip apps with extra ``MAILGRIP_*`` settings: ``make_app(PROXY_FIX="1")``.

    They use the live server's database, whose tables are emptied after the test, so rows
    made with the builders inside the ``app`` fixture's context are visible to them.
    """
    apps = []

    def factory(**overrides: str):
        instance = tmp_path / f"app{len(apps) + 1}"
        environ = mailgrip_environ(emulator, database_url, tmp_path / "files", live_server.url)
        environ.update({f"MAILGRIP_{name}": value for name, value in overrides.items()})
        app = create_app(Settings.from_env(instance, environ), instance_path=str(instance))
        apps.append(app)
        return app

    yield factory
    # Each app has a connection pool of its own, which would otherwise be closed by the
    # garbage collector with a ResourceWarning in whatever test runs then.
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def serve():
    """Serve apps over real HTTP on free loopback ports; return each one's base URL."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
