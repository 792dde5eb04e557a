"""The emulator's Flask application."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .context import EXTENSION_KEY, Emulator, graph_error, request_id
from .query import canonical_graph_path


class _GraphPathMiddleware:
    """Rewrites Graph paths to the routes' spelling before routing."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self._wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/v1.0/"):
            environ["PATH_INFO"] = canonical_graph_path(path)
        return self._wsgi_app(environ, start_response)


def create_app(emulator: Emulator) -> Flask:
    """Create the application that serves identity, Graph and control endpoints."""
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = emulator
    app.json.sort_keys = False  # Graph's property order is easier to compare with samples.
    app.wsgi_app = _GraphPathMiddleware(app.wsgi_app)  # type: ignore[method-assign]

    # graph_attachments, groups_graph, mail_folders, subscription_routes, trace_control and
    # trace_graph add their routes to the graph and control blueprints.
    from . import (  # noqa: F401
        control,
        graph,
        graph_attachments,
        groups_graph,
        identity,
        mail_folders,
        subscription_routes,
        trace_control,
        trace_graph,
    )

    app.register_blueprint(identity.bp)
    app.register_blueprint(graph.bp)
    app.register_blueprint(control.bp)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if request.path.startswith("/v1.0/"):
            # Graph rejects an unknown path with 400 and names the segment it could not resolve.
            if status == 404:
                segment = request.path.rstrip("/").rpartition("/")[2]
                response = graph_error(
                    400, "BadRequest", f"Resource not found for the segment '{segment}'."
                )
            else:
                response = graph_error(status, "BadRequest", str(error.description))
            response.headers["request-id"] = request_id()
            return response
        response = jsonify(
            {
                "error": (error.name or "error").lower().replace(" ", "_"),
                "message": error.description,
            }
        )
        response.status_code = status
        return response

    return app
