"""Logging configuration, applied once per process before the app is created."""

from __future__ import annotations

from logging.config import dictConfig

_configured = False


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr with time, level and logger name."""
    global _configured
    if _configured:
        return
    dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
            },
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default"}},
            "root": {"level": level.upper(), "handlers": ["stderr"]},
            # Werkzeug logs every request line including the path, and portal paths carry the
            # link token: keep its access log at WARNING so tokens never reach the log.
            # Alembic announces every plugin it loads at INFO, on every start.
            # msal 1.39's token cache logs each token request at DEBUG with the authorization
            # code and PKCE verifier unredacted, so msal never logs below INFO.
            "loggers": {
                "werkzeug": {"level": "WARNING"},
                "alembic": {"level": "WARNING"},
                "msal": {"level": "INFO"},
            },
        }
    )
    _configured = True
