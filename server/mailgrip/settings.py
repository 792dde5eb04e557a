"""Access to the settings of the current application."""

from __future__ import annotations

from flask import current_app

from .config import Settings


def current_settings() -> Settings:
    return current_app.extensions["mailgrip.settings"]
