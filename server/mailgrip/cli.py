"""The ``mailgrip`` command: demo, serve, manifest, dev-certs, config-docs, app commands, ``db``."""

from __future__ import annotations

import sys
from pathlib import Path

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


@main.command("manifest", with_appcontext=False)
@click.option(
    "--base-url",
    required=True,
    help="https:// address where Outlook reaches this Mailgrip, such as https://mailgrip.example.org.",
)
@click.option(
    "--client-id",
    required=True,
    help="Application (client) ID of Mailgrip's app registration in Microsoft Entra ID.",
)
@click.option(
    "--send-mode",
    default=None,
    help="SendMode of OnMessageSend: PromptUser, SoftBlock or Block. "
    "Default: MAILGRIP_SEND_MODE, else SoftBlock.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File to write the manifest to. Default: standard output.",
)
def manifest(base_url: str, client_id: str, send_mode: str | None, output: str | None) -> None:
    """Print the Outlook add-in manifest for a deployment of Mailgrip."""
    import os

    from .addin.manifest import ManifestError, ManifestOptions, render_manifest
    from .config import setting_default

    options = ManifestOptions(
        base_url=base_url,
        client_id=client_id,
        addin_id=os.environ.get("MAILGRIP_ADDIN_ID") or setting_default("addin_id"),
        send_mode=send_mode or os.environ.get("MAILGRIP_SEND_MODE") or setting_default("send_mode"),
    )
    try:
        xml = render_manifest(options)
    except ManifestError as error:
        raise click.UsageError(str(error)) from None
    if output is None:
        click.echo(xml, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(xml)


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
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port of Mailgrip on 127.0.0.1. Default: 5000, or 3000 with --https.",
)
@click.option(
    "--emulator-port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port of the emulator on 127.0.0.1; 0 picks a free one.",
)
@click.option(
    "--https",
    "use_https",
    is_flag=True,
    help="Serve https://localhost with the certificates of `mailgrip dev-certs`, so that "
    "Outlook can load the add-in from this machine.",
)
@click.option(
    "--certs",
    "certs_dir",
    default="certs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the certificates that --https uses.",
)
def demo(port: int | None, emulator_port: int, use_https: bool, certs_dir: Path) -> None:
    """Run Mailgrip, the Microsoft 365 emulator and demo data on this machine, with no account."""
    from .demo.run import run_demo
    from .devcerts import DevCertificates

    if port is None:
        port = 3000 if use_https else 5000
    if emulator_port == port:
        raise click.UsageError(
            f"--port and --emulator-port are both {port}, but Mailgrip and the emulator each "
            "need a port of their own; choose another --emulator-port, or 0 for a free one."
        )
    certificates = DevCertificates(certs_dir) if use_https else None
    run_demo(port=port, emulator_port=emulator_port, certificates=certificates)


@main.command("dev-certs", with_appcontext=False)
@click.option(
    "--dir",
    "folder",
    default="certs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the PEM files to.",
)
@click.option(
    "--force", is_flag=True, help="Replace existing files; the new CA must then be trusted again."
)
def dev_certs(folder: Path, force: bool) -> None:
    """Create a local CA and a certificate for localhost, 127.0.0.1 and ::1."""
    from .devcerts import DevCertificatesExist, create_dev_certificates

    try:
        files = create_dev_certificates(folder, force=force)
    except DevCertificatesExist as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"CA certificate:     {files.ca_cert}")
    click.echo(f"Server certificate: {files.server_cert} (key {files.server_key})")
    click.echo("")
    click.echo("Trust the CA certificate on this machine, then run: mailgrip demo --https")
    click.echo("docs/deployment.md explains how to trust it and sideload the add-in.")


if __name__ == "__main__":
    main()
