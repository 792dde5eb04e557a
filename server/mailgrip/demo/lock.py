"""The lock that keeps a second demo from emptying the folder of a demo that is running."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import click

# Enough for the line that names the demo holding the lock.
MAX_HOLDER_BYTES = 500


def lock_demo_folder(folder: Path, port: int, public_url: str) -> int:
    """Take the exclusive lock on ``folder`` and record this demo as its holder.

    The lock is an ``flock`` on ``<folder>.lock`` beside the folder, which stays when the
    folder is emptied. The kernel drops it when the process ends, however it ends, so a
    killed demo leaves no stale lock behind.

    :return: the lock file's descriptor; the lock lasts while it stays open.
    :raise click.ClickException: another demo holds the lock.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.with_name(f"{folder.name}.lock")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, MAX_HOLDER_BYTES).decode("utf-8", "replace").strip()
        os.close(descriptor)
        raise click.ClickException(
            f"Another Mailgrip demo ({holder or 'process unknown'}) uses {folder}, "
            "and every start empties that folder. Stop that demo first, or give this one a "
            f"folder of its own, for example: MAILGRIP_INSTANCE_PATH={folder.parent}-{port} "
            f"mailgrip demo --port {port}"
        ) from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"process {os.getpid()} serving {public_url}\n".encode())
    return descriptor
