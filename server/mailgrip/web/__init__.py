"""HTTP surfaces: task-pane API, recipient portal, tracking image, task pane, health and
Graph webhooks."""

from __future__ import annotations

from flask import Flask

from .errors import register_error_handlers


def register_web(app: Flask) -> None:
    """Register every blueprint and the shared error handlers on ``app``."""
    from .converters import IdConverter

    # Converters must exist before the blueprints' rules are added.
    app.url_map.converters["id"] = IdConverter
    from ..extensions import csrf
    from . import api, health, opens, portal, taskpane, webhooks

    # The API authenticates with bearer tokens, which a browser never sends on its own, so
    # cross-site request forgery does not apply to it. Every form elsewhere has a CSRF token.
    csrf.exempt(api.bp)
    # Graph posts notifications without cookies; clientState authenticates them instead.
    csrf.exempt(webhooks.bp)
    register_error_handlers(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(opens.bp)
    app.register_blueprint(taskpane.bp)
    app.register_blueprint(webhooks.bp)
