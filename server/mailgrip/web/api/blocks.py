"""Creating and lifting blocks from the task pane."""

from __future__ import annotations

from flask import g

from ...access.blocks import create_block, lift_block
from ...access.models import Block
from ...db import db
from ...errors import BadRequest, NotFound
from ...shares.models import Share
from ..converters import MAX_ROW_ID
from ..json_body import read_json
from . import bp
from .auth import require_caller
from .representation import block_json
from .visibility import may_see_mailbox, visible_message


@bp.post("/messages/<id:message_id>/blocks")
@require_caller
def create(message_id: int):
    """Block a file, a recipient or everything of one of the caller's messages.

    :raise 400: the body is not a JSON object with a valid scope and target, or it has a target
        field that the scope does not use.
    :raise 404: the message does not exist or the caller may not see it, or the recipient or
        file is not the message's.
    :return: 201 with the new block, or 200 with the identical block already active.
    """
    message = visible_message(message_id)
    body = read_json()
    if not isinstance(body, dict):
        raise BadRequest(
            'Send a JSON object such as {"scope": "file", "fileId": 3} with '
            "Content-Type: application/json."
        )
    scope = str(body.get("scope", ""))
    _reject_unused_fields(body, scope)
    block, created = create_block(
        message,
        scope,
        actor=_actor(),
        recipient_id=_optional_id(body, "recipientId"),
        file_id=_optional_id(body, "fileId"),
    )
    db.session.commit()
    return block_json(block), 201 if created else 200


@bp.post("/blocks/<id:block_id>/lift")
@require_caller
def lift(block_id: int):
    """Lift a block on a share that the caller may see; it stays in the history.

    :raise 404: no such block on a share that the caller may see.
    """
    block = db.session.get(Block, block_id)
    share = db.session.get(Share, block.share_id) if block else None
    if block is None or share is None or not may_see_mailbox(share.owner_mailbox_id):
        raise NotFound(f"Block {block_id} was not found.")
    lift_block(block, actor=_actor())
    db.session.commit()
    return block_json(block)


def _actor() -> str:
    return g.caller.address or g.caller.object_id


# The target field that each scope uses. A field of another scope is rejected instead of
# ignored, because a client that sent the wrong scope would otherwise block more than it meant.
_SCOPE_FIELDS = {"all": set(), "recipient": {"recipientId"}, "file": {"fileId"}}


def _reject_unused_fields(body: dict, scope: str) -> None:
    """:raise 400: ``body`` has ``recipientId`` or ``fileId`` that ``scope`` does not use."""
    if scope not in _SCOPE_FIELDS:
        return  # create_block names the valid scopes.
    for field in ("recipientId", "fileId"):
        if field in body and field not in _SCOPE_FIELDS[scope]:
            used = ", ".join(sorted(_SCOPE_FIELDS[scope])) or "no target field"
            raise BadRequest(
                f"{field} does not fit scope {scope!r}, which uses {used}. Remove {field}, or "
                "send the scope that the field belongs to."
            )


def _optional_id(body: dict, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROW_ID:
        raise BadRequest(f"{key}={value!r} is not valid; give the numeric id from the tracking.")
    return value
