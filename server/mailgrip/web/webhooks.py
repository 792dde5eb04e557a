"""Graph webhooks: change notifications and lifecycle notifications of subscriptions.

Graph validates each URL when a subscription is created by POSTing ``?validationToken=...``
and expects the decoded token back as ``text/plain`` with 200 within 10 seconds. The
validation response therefore touches neither the database nor the queue. Notifications are
acknowledged with 202 at once and processed by a job, because Graph drops endpoints that
respond slowly.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request

from ..errors import BadRequest, PayloadTooLarge
from ..worker import tasks
from ..worker.queue import current_queue

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/graph")

# Graph sends notifications in batches; this bounds a batch far above any real one.
MAX_NOTIFICATION_BYTES = 4 * 1024 * 1024


@bp.post("/notifications")
def notifications():
    """Echo a validation token, or queue a batch of change notifications.

    :raise 400: the body is not a notification collection.
    :return: the token as text/plain (validation), 202 (queued) or 503 (queue unreachable).
    """
    token = request.args.get("validationToken")
    if token is not None:
        return _echo(token)
    return _enqueue(tasks.process_notifications, _notification_batch())


@bp.post("/lifecycle")
def lifecycle():
    """Echo a validation token, or queue a batch of lifecycle notifications."""
    token = request.args.get("validationToken")
    if token is not None:
        return _echo(token)
    return _enqueue(tasks.process_lifecycle_notifications, _notification_batch())


def _echo(token: str) -> Response:
    # request.args has already URL-decoded the token, which is what Graph expects back.
    return Response(token, status=200, mimetype="text/plain")


def _notification_batch() -> list[dict[str, Any]]:
    """Return the ``value`` list of the request's notification collection.

    :raise PayloadTooLarge: the body exceeds ``MAX_NOTIFICATION_BYTES``.
    :raise BadRequest: the body is not JSON of the form ``{"value": [{...}, ...]}``.
    """
    if (request.content_length or 0) > MAX_NOTIFICATION_BYTES:
        raise PayloadTooLarge(
            f"The notification body has {request.content_length} bytes; the limit is "
            f"{MAX_NOTIFICATION_BYTES}."
        )
    body = request.get_json(silent=True)
    batch = body.get("value") if isinstance(body, dict) else None
    if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
        raise BadRequest('The body is not a notification collection; send JSON {"value": [{...}]}.')
    return batch


def _enqueue(job, batch: list[dict[str, Any]]):
    if not batch:
        return Response(status=202)
    try:
        current_queue().enqueue(job, batch)
    except Exception:
        # A webhook boundary: Graph redelivers on 5xx, so the batch is not lost.
        log.exception("Queueing %d notifications failed", len(batch))
        return {
            "error": "queue_unavailable",
            "message": "The job queue is unreachable; Graph will deliver the batch again.",
        }, 503
    return Response(status=202)
