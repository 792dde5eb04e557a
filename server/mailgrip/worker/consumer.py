"""Run the job consumer: in the foreground (``mailgrip worker``) or in threads of another
process (``mailgrip demo``, tests)."""

from __future__ import annotations

from flask import Flask
from huey.consumer import Consumer

from ..settings import current_settings
from .queue import JobQueue

# A consumer thread polls for new jobs at most this many seconds after an empty poll. Redis
# blocks on the queue instead, so this interval matters for SQLite. A short one keeps a
# notification's job from waiting, at the cost of one cheap query per thread and interval.
MAX_POLL_SECONDS = 0.25
# A graceful stop lets running jobs finish for at most this long, then interrupts them: a job
# stuck on a slow Graph request must not keep Ctrl-C from ending the demo or a test.
SHUTDOWN_SECONDS = 20


class InProcessConsumer(Consumer):
    """A consumer that leaves the signal handlers of its host process alone."""

    def _set_signal_handlers(self) -> None:
        # The host (the demo, a test) handles Ctrl-C itself and calls stop().
        return None


def _options(app: Flask) -> dict:
    with app.app_context():
        workers = current_settings().worker_threads
    return {
        "workers": workers,
        "worker_type": "thread",
        "periodic": True,
        "initial_delay": 0.05,
        "max_delay": MAX_POLL_SECONDS,
        "scheduler_interval": 1,
        "shutdown_timeout": SHUTDOWN_SECONDS,
    }


def _queue(app: Flask) -> JobQueue:
    return app.extensions["mailgrip.queue"]


def run_consumer(app: Flask) -> None:
    """Run jobs in the foreground until SIGINT or SIGTERM, which stop it gracefully."""
    _queue(app).huey.create_consumer(**_options(app)).run()


def start_consumer(app: Flask, workers: int | None = None) -> InProcessConsumer:
    """Start consumer threads in this process; call ``stop(graceful=True)`` to end them."""
    options = _options(app)
    if workers is not None:
        options["workers"] = workers
    consumer = InProcessConsumer(_queue(app).huey, check_worker_health=False, **options)
    consumer.start()
    return consumer
