"""HTTP surfaces: API, recipient portal, tracking image, task pane, add-in, admin, health
and Graph webhooks."""

from __future__ import annotations

from flask import Flask

from .errors import register_error_handlers


def register_web(app: Flask) -> None:
    """Register every blueprint and the shared error handlers on ``app``."""
    from .control_characters import init_control_character_check
    from .converters import IdConverter

    # Converters must exist before the blueprints' rules are added.
    app.url_map.converters["id"] = IdConverter
    from ..extensions import csrf
    from . import (
        addin,
        admin,
        api,
        health,
        opens,
        portal,
        taskpane,
        taskpane_dialog,
        taskpane_libraries,
        webhooks,
    )

    # The API authenticates with bearer tokens, which a browser never sends on its own, so
    # cross-site request forgery does not apply to it. Every form elsewhere has a CSRF token.
    csrf.exempt(api.bp)
    # Graph posts notifications without cookies; clientState authenticates them instead.
    csrf.exempt(webhooks.bp)
    register_error_handlers(app)
    init_control_character_check(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(opens.bp)
    app.register_blueprint(taskpane.bp)
    app.register_blueprint(addin.bp)
    app.register_blueprint(taskpane_libraries.bp)
    app.register_blueprint(taskpane_dialog.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(webhooks.bp)

    from .proxy import apply_proxy_fix
    from .rate_limits import init_rate_limits
    from .security_headers import init_security_headers

    settings = app.extensions["mailgrip.settings"]
    init_security_headers(app, settings)
    init_rate_limits(app, settings)
    apply_proxy_fix(app, settings)
