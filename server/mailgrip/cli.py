"""The ``mailgrip`` command: demo, serve, config-docs, the app's commands and ``db``."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from . import create_app
from .config import ConfigError


def _create_app():
    try:
        return create_app()
    except ConfigError as error:
        click.echo(f"Configuration error: {error}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Mailgrip: tracking and blocking for files sent from Outlook."""


@main.command("config-docs", with_appcontext=False)
def config_docs() -> None:
    """Print the settings table as Markdown (the source of docs/configuration.md)."""
    from .config import settings_markdown

    click.echo(settings_markdown(), nl=False)


@main.command(with_appcontext=False)
@click.option(
    "--bind",
    default="127.0.0.1:8000",
    show_default=True,
    help="Address and port that gunicorn listens on.",
)
@click.option(
    "--workers", default=2, show_default=True, help="Number of gunicorn worker processes."
)
@click.option(
    "--threads",
    default=16,
    show_default=True,
    help="Threads per worker; each serves one request, so this bounds parallel downloads.",
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Apply database migrations before serving.",
)
def serve(bind: str, workers: int, threads: int, migrate: bool) -> None:
    """Serve Mailgrip with gunicorn (production)."""
    from .serve import run_gunicorn

    try:
        run_gunicorn(bind=bind, workers=workers, threads=threads, migrate=migrate)
    except ConfigError as error:
        click.echo(f"Configuration error: {error}", err=True)
        sys.exit(2)


@main.command(with_appcontext=False)
@click.option("--port", default=5000, show_default=True, help="Port of Mailgrip on 127.0.0.1.")
@click.option("--emulator-port", default=0, help="Port of the emulator; 0 picks a free one.")
def demo(port: int, emulator_port: int) -> None:
    """Run Mailgrip, the Microsoft 365 emulator and demo data on this machine, with no account."""
    from .demo.run import run_demo

    run_demo(port=port, emulator_port=emulator_port)


if __name__ == "__main__":
    main()
