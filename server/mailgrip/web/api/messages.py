"""Messages of the signed-in user and their tracking."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, request

from ...db import db
from ...errors import BadRequest, NotFound
from ...mirror.item_ids import rest_item_id
from ...mirror.models import Message
from ...text import has_control_character
from ...tracking.sender_views import record_sender_view
from ...tracking.states import derive_states
from . import bp
from .auth import require_caller
from .representation import message_summary_json, timeline_json, tracking_json
from .visibility import find_visible_message, visible_message

REFRESH_AFTER_SECONDS = 10
MAX_LIST_LIMIT = 200


@bp.get("/messages")
@require_caller
def list_messages():
    """List the caller's mirrored messages, newest first.

    :raise 400: ``limit`` is not a whole number from 1 to 200.
    """
    raw_limit = request.args.get("limit", "50")
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise BadRequest(f"limit={raw_limit!r} is not valid; use a whole number from 1 to 200.")
    messages = db.session.scalars(
        sa.select(Message)
        .where(Message.mailbox_id == g.mailbox.id)
        .order_by(Message.sent_at.desc().nulls_last(), Message.id.desc())
        .limit(limit)
    )
    return {"value": [message_summary_json(m) for m in messages]}


@bp.get("/messages/<id:message_id>")
@require_caller
def get_tracking(message_id: int):
    """Return the tracking of one of the caller's messages by its Mailgrip id.

    :raise 404: no such message in the caller's mailbox.
    """
    return _tracking_response(visible_message(message_id))


@bp.get("/messages/<id:message_id>/timeline")
@require_caller
def get_timeline(message_id: int):
    """Return every event of one of the caller's messages, newest first, with its label.

    :raise 404: no such message in the caller's mailbox.
    """
    message = visible_message(message_id)
    return timeline_json(derive_states(message))


@bp.get("/messages/lookup")
@require_caller
def lookup_tracking():
    """Return the tracking of a message found by its Graph id or its ``internetMessageId``.

    :raise 400: neither query parameter was given.
    :raise 404: no such message in the caller's mailbox.
    """
    graph_id = _query_value("graphId")
    internet_message_id = _query_value("internetMessageId")
    if not graph_id and not internet_message_id:
        raise BadRequest("Give graphId or internetMessageId as a query parameter.")
    message = None
    if graph_id:
        message = find_visible_message(Message.graph_id == rest_item_id(graph_id))
    # Outlook's item id is not the immutable id that the mirror stores, so a mirrored message
    # can miss by Graph id and still match by internetMessageId.
    if message is None and internet_message_id:
        # internetMessageId is not unique (a message can be re-sent); take the newest mirror.
        message = find_visible_message(Message.internet_message_id == internet_message_id)
    if message is None:
        raise NotFound("Mailgrip does not know this message.")
    return _tracking_response(message)


def _query_value(name: str) -> str:
    """Return a query parameter, stripped.

    :raise 400: the value contains a control character, which no Graph id or message id has.
    """
    value = request.args.get(name, "").strip()
    if has_control_character(value):
        raise BadRequest(f"{name} contains a control character; copy the id again and retry.")
    return value


def _tracking_response(message: Message):
    # The sender has this message on screen now, so image fetches and visits from the same
    # network at this moment are the sender's own.
    record_sender_view(message)
    db.session.commit()
    return tracking_json(derive_states(message), REFRESH_AFTER_SECONDS)
