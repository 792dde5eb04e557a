"""The task-pane API under ``/api/``: bearer-token authenticated JSON."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import blocks, messages, openapi, sender, shares, uploads  # noqa: E402,F401  (routes register on bp)
