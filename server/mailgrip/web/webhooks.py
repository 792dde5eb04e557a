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
# NOTE: Graph documents no maximum number of notifications per POST. Mailgrip subscribes to
# one folder per mailbox without resource data, so a batch lists a few new messages, and this
# is an estimate far above that. A larger batch gets 413 and none of it is queued.
MAX_NOTIFICATIONS_PER_POST = 1000

# No per-client rate limit here. Graph may drop notifications that an endpoint does not accept
# in time, and they are then lost (learn.microsoft.com/graph/change-notifications-delivery-
# webhooks). A per-address limit would also count Graph's own bursts when many mailboxes send
# at once. The limits above bound one POST's work instead, and the job looks up a batch's
# mailboxes in one query.


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

    :raise PayloadTooLarge: the body exceeds ``MAX_NOTIFICATION_BYTES``, also when it comes
        chunked without Content-Length, or it has more than ``MAX_NOTIFICATIONS_PER_POST``
        notifications.
    :raise BadRequest: the body is not JSON of the form ``{"value": [{...}, ...]}``.
    """
    if (request.content_length or 0) > MAX_NOTIFICATION_BYTES:
        raise PayloadTooLarge(
            f"The notification body has {request.content_length} bytes; the limit is "
            f"{MAX_NOTIFICATION_BYTES}.",
            limit=MAX_NOTIFICATION_BYTES,
        )
    # Werkzeug applies max_content_length to a body without Content-Length (chunked) too, when
    # the WSGI server sets wsgi.input_terminated (its development server and gunicorn do). It
    # then stops reading at the limit and returns what it read, so one byte past the limit
    # shows that the body was longer.
    request.max_content_length = MAX_NOTIFICATION_BYTES + 1
    if len(request.get_data(cache=True)) > MAX_NOTIFICATION_BYTES:
        raise PayloadTooLarge(
            f"The notification body has more than {MAX_NOTIFICATION_BYTES} bytes, the limit.",
            limit=MAX_NOTIFICATION_BYTES,
        )
    body = request.get_json(silent=True)
    batch = body.get("value") if isinstance(body, dict) else None
    if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
        raise BadRequest('The body is not a notification collection; send JSON {"value": [{...}]}.')
    if len(batch) > MAX_NOTIFICATIONS_PER_POST:
        raise PayloadTooLarge(
            f"The body has {len(batch)} notifications; the limit is "
            f"{MAX_NOTIFICATIONS_PER_POST} per request. Send them in smaller batches.",
            limit=MAX_NOTIFICATIONS_PER_POST,
        )
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
