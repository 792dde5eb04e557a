"""Commands that work on one application: ``sync`` and ``worker``.

They are registered on ``app.cli``, so both ``mailgrip`` and ``flask --app mailgrip`` offer them.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command()
@with_appcontext
def sync() -> None:
    """Sync the Sent Items of every known mailbox once."""
    from .graph.client import GraphError
    from .mirror.sync import sync_all
    from .services import services
    from .settings import current_settings

    try:
        results = sync_all(services().graph, current_settings())
    except GraphError as error:
        raise click.ClickException(str(error)) from error
    for result in results:
        click.echo(
            f"mailbox {result.mailbox_id}: {result.created} new, {result.updated} updated, "
            f"{result.removed} moved out of Sent Items"
        )
    if not results:
        click.echo("No mailbox is known yet; a mailbox is added when its user first signs in.")


@click.command()
@with_appcontext
def worker() -> None:
    """Run background jobs in the foreground until interrupted (periodic Sent Items sync)."""
    from .settings import current_settings
    from .worker.periodic import PeriodicSync

    loop = PeriodicSync(current_app._get_current_object(), current_settings().sync_interval)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        click.echo("Worker stopped.")
