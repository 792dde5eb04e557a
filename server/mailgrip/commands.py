"""Commands that work on one application: ``sync`` and ``worker``.

They are registered on ``app.cli``, so both ``mailgrip`` and ``flask --app mailgrip`` offer them.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command()
@with_appcontext
def sync() -> None:
    """Sync the Sent Items of every known mailbox once."""
    from .mirror.sync import sync_all
    from .services import services
    from .settings import current_settings

    results = sync_all(services().graph, current_settings())
    if not results:
        click.echo("No mailbox is known yet; a mailbox is added when its user first signs in.")
    for result in results:
        if result.error:
            click.echo(f"mailbox {result.mailbox_id}: sync failed: {result.error}", err=True)
            continue
        click.echo(
            f"mailbox {result.mailbox_id}: {result.created} new, {result.updated} updated, "
            f"{result.removed} moved out of Sent Items"
        )
        if result.failed:
            click.echo(
                f"mailbox {result.mailbox_id}: {len(result.failed)} sent items could not be "
                f"mirrored: {', '.join(result.failed)}",
                err=True,
            )
    if any(result.error or result.failed for result in results):
        sys.exit(1)


@click.command()
@with_appcontext
def worker() -> None:
    """Run background jobs until interrupted: notifications, syncs, subscription renewal."""
    from .worker.consumer import run_consumer

    run_consumer(current_app._get_current_object())
    click.echo("Worker stopped.")
