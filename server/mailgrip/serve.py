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


def run_gunicorn(bind: str, workers: int, migrate: bool) -> None:
    """Apply migrations once in this process, then hand over to gunicorn's workers."""
    if migrate:
        from flask_migrate import upgrade

        app = create_app()
        with app.app_context():
            upgrade()
    _Gunicorn({"bind": bind, "workers": workers, "accesslog": None}).run()
