"""Liveness and readiness probes."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint

from ..db import db
from ..settings import current_settings

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report that the process is alive; checks nothing else."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Report whether the database and file storage are reachable.

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
    checks["storage"] = "ok" if storage.is_dir() and _writable(storage) else "unreachable"
    # Background jobs run in-process until a Redis-backed queue is configured.
    checks["queue"] = "ok"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _writable(path: Path) -> bool:
    probe = path / ".readyz"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True
