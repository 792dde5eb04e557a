"""A periodic sync loop that runs in a thread (demo) or in the foreground (``mailgrip worker``)."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from ..mirror.reports import scan_non_delivery_reports
from ..mirror.sync import sync_all
from ..mirror.trace_poll import poll_delivery
from ..services import services
from ..settings import current_settings

log = logging.getLogger(__name__)


def run_sync_once(app: Flask) -> None:
    """Sync every mailbox once; an exception is logged with its traceback, not raised."""
    with app.app_context():
        try:
            sync_all(services().graph, current_settings())
        except Exception:
            # A job boundary: one failed round must not end the loop.
            log.exception("Periodic sync failed")
        run_delivery_jobs_once()


def run_delivery_jobs_once() -> None:
    """Poll message trace and read delivery reports once; errors are logged, not raised.

    Call inside an app context. Each job is a plain function that is safe to retry.
    """
    for name, job in (
        ("Message trace poll", poll_delivery),
        ("Delivery report scan", scan_non_delivery_reports),
    ):
        try:
            job(current_settings(), services().graph)
        except Exception:
            # A job boundary: one failed job must not stop the other or end the loop.
            log.exception("%s failed", name)


class PeriodicSync:
    """Runs ``run_sync_once`` every ``interval`` seconds until stopped."""

    def __init__(self, app: Flask, interval: float) -> None:
        self._app = app
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        log.info("Periodic sync started, every %.0f s", self._interval)
        while not self._stop.is_set():
            run_sync_once(self._app)
            self._stop.wait(self._interval)
        log.info("Periodic sync stopped")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="periodic-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
