"""The job queue: Huey on SQLite in the instance folder, or on Redis when a URL is set.

Every job runs inside an application context of the app that created the queue, so a job
uses ``db.session``, ``services()`` and ``current_settings()`` as a view does.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import Result, TaskWrapper

from ..config import Settings

QUEUE_FILE = "jobs.sqlite3"


def create_huey(settings: Settings, instance_path: str) -> Huey:
    """Return Huey on Redis when ``redis_url`` is set, else on SQLite in the instance folder.

    Results are not stored: jobs report through the database and the log.
    """
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False)
    return SqliteHuey(
        settings.queue_name, filename=str(Path(instance_path) / QUEUE_FILE), results=False
    )


class JobQueue:
    """The app's Huey instance with the jobs of ``worker.tasks`` registered on it."""

    def __init__(self, app: Flask, huey: Huey) -> None:
        self.app = app
        self.huey = huey
        self._tasks: dict[Callable[..., Any], TaskWrapper] = {}
        self._running = 0
        self._running_lock = threading.Lock()
        from . import tasks  # tasks enqueue through this module, so import them late

        for job in tasks.JOBS:
            self._tasks[job] = huey.task(name=job.__name__)(self._in_app_context(job))
        for periodic in tasks.PERIODIC_JOBS:
            schedule = crontab(minute=f"*/{periodic.every_minutes}")
            self._tasks[periodic.job] = huey.periodic_task(schedule, name=periodic.job.__name__)(
                self._in_app_context(periodic.job)
            )

    def _in_app_context(self, job: Callable[..., Any]) -> Callable[..., Any]:
        app = self.app

        @functools.wraps(job)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._running_lock:
                self._running += 1
            try:
                with app.app_context():
                    return job(*args, **kwargs)
            finally:
                with self._running_lock:
                    self._running -= 1

        return run

    def enqueue(self, job: Callable[..., Any], *args: Any, delay: float = 0) -> Result | None:
        """Put one call of ``job`` on the queue, to run after ``delay`` seconds.

        :raise KeyError: ``job`` is not listed in ``worker.tasks``.
        """
        task = self._tasks[job]
        if delay > 0:
            return task.schedule(args=args, delay=delay)
        return task(*args)

    def pending(self) -> int:
        """Return the number of jobs waiting to run now or later, or running in this process.

        Jobs that consumers of other processes run are not counted.
        """
        with self._running_lock:
            running = self._running
        return self.huey.pending_count() + self.huey.scheduled_count() + running


def init_queue(app: Flask, settings: Settings) -> None:
    app.extensions["mailgrip.queue"] = JobQueue(app, create_huey(settings, app.instance_path))


def current_queue() -> JobQueue:
    return current_app.extensions["mailgrip.queue"]
