"""Running Mailgrip under gunicorn for production."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from . import create_app


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def run_gunicorn(bind: str, workers: int, threads: int, migrate: bool) -> None:
    """Apply migrations once in this process, then hand over to gunicorn's workers.

    Workers are threaded (gthread): a sync worker serves one request at a time and is killed
    after ``timeout`` seconds, which would cut every download or upload longer than that and
    let a few slow clients hold every worker.

    :raise ConfigError: a setting is missing or invalid.
    """
    app = create_app()
    if migrate:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
    options = {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # Portal and image paths carry link tokens, so requests are not logged line by line.
        "accesslog": None,
    }
    _Gunicorn(options).run()
