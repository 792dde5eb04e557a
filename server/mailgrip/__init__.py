"""Mailgrip: tracking and blocking for files sent from Outlook."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from . import db as database
from .config import Settings
from .logs import configure_logging

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None, instance_path: str | None = None) -> Flask:
    """Create the Mailgrip application.

    :param settings: settings to use; read from ``MAILGRIP_*`` variables when omitted.
    :param instance_path: folder for the SQLite file, secrets and stored files.
    """
    instance_path = instance_path or os.environ.get("MAILGRIP_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    if settings is None:
        settings = Settings.from_env(app.instance_path)
    configure_logging(settings.log_level)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # The file store must exist before the first upload, or readiness probes fail until then.
    Path(settings.storage_dir).mkdir(parents=True, exist_ok=True)

    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        # A portal page may stay open for hours before its Download button is pressed.
        # Flask-WTF's default of 3600 s would then reject the form. Without a time limit the
        # token still only works with the random value in this browser's signed session
        # cookie, which ends when the browser session ends.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.extensions["mailgrip.settings"] = settings

    from .services import init_services

    init_services(app, settings)

    from .worker.queue import init_queue

    init_queue(app, settings)

    from . import models  # noqa: F401  (registers every table with the metadata)
    from .extensions import babel, csrf, migrate, select_locale

    database.db.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    migrate.init_app(app, database.db, directory=str(MIGRATIONS_DIR), render_as_batch=True)

    from .web import register_web

    register_web(app)

    from .commands import sync, worker

    app.cli.add_command(sync)
    app.cli.add_command(worker)
    return app


def _engine_options(database_url: str) -> dict:
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("sqlite"):
        # Jobs and requests write from several threads; a writer waits this many seconds for
        # SQLite's database-wide write lock (Python's default is 5) before "database is locked".
        options["connect_args"] = {"timeout": 30}
    return options
