"""Liveness and readiness probes."""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from pathlib import Path

import redis
import sqlalchemy as sa
from flask import Blueprint

from ..db import db
from ..settings import current_settings
from ..worker.queue import current_queue

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report that the process is alive; checks nothing else."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Report whether the database, the file store and the job queue are reachable.

    :return: 200 when every check passes, 503 with the failed checks otherwise.
    """
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as error:
        log.warning("Readiness: database unreachable: %s", error)
        checks["database"] = "unreachable"
    storage = Path(current_settings().storage_dir)
    checks["storage"] = "ok" if _writable(storage) else "unreachable"
    checks["queue"] = "ok" if _queue_reachable() else "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _queue_reachable() -> bool:
    try:
        current_queue().huey.pending_count()
    except (redis.RedisError, sqlite3.Error, OSError) as error:
        log.warning("Readiness: job queue unreachable: %s", error)
        return False
    return True


def _writable(folder: Path) -> bool:
    # A file of its own per probe, so that concurrent probes do not delete each other's.
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".readyz-"):
            return True
    except OSError as error:
        log.warning("Readiness: file store %s is not writable: %s", folder, error)
        return False
