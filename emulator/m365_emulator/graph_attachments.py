"""Graph attachment resources of a message: the list, one attachment and its ``$value``."""

from __future__ import annotations

from flask import Response, jsonify, request

from .context import current_emulator
from .graph import (
    READ_PERMISSIONS,
    _context_owner,
    _fail,
    _mailbox_user,
    _message,
    _routes,
    _select,
)
from .model import Attachment, Message
from .query import parse_expand
from .shapes import attachment_json, item_json


def _attachment(message: Message, attachment_id: str) -> Attachment:
    attachment = message.find_attachment(attachment_id)
    if attachment is None:
        _fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return attachment


@_routes("/messages/<message_id>/attachments", endpoint="list_attachments")
def list_attachments(user: str | None, message_id: str):
    """List the attachments of a message."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    message = _message(owner, message_id)
    select = _select("attachment")
    base = current_emulator().config.graph_base
    return jsonify(
        {
            "@odata.context": f"{base}/$metadata#{_context_owner(user)}/messages('{message_id}')"
            "/attachments",
            "value": [attachment_json(item, select) for item in message.attachments],
        }
    )


@_routes("/messages/<message_id>/attachments/<attachment_id>", endpoint="get_attachment")
def get_attachment(user: str | None, message_id: str, attachment_id: str):
    """Return one attachment; ``$expand=microsoft.graph.itemattachment/item`` adds the item."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    attachment = _attachment(_message(owner, message_id), attachment_id)
    base = current_emulator().config.graph_base
    context = f"{base}/$metadata#{_context_owner(user)}/messages('{message_id}')/attachments"
    body = {
        "@odata.context": f"{context}/$entity",
        **attachment_json(attachment, _select("attachment")),
    }
    for expansion in parse_expand(request.args.get("$expand")):
        if expansion.name.lower() == "microsoft.graph.itemattachment/item" and attachment.item:
            body["item@odata.context"] = (
                f"{context}('{attachment_id}')/microsoft.graph.itemAttachment/item/$entity"
            )
            body["item"] = item_json(attachment.item, current_emulator().config.base_url)
    return jsonify(body)


@_routes("/messages/<message_id>/attachments/<attachment_id>/$value", endpoint="attachment_value")
def attachment_value(user: str | None, message_id: str, attachment_id: str):
    """Return the raw bytes of a file attachment or the MIME of an attached message."""
    owner = _mailbox_user(user, READ_PERMISSIONS)
    attachment = _attachment(_message(owner, message_id), attachment_id)
    if attachment.kind == "item":
        return Response(attachment.content, mimetype="message/rfc822")
    return Response(
        attachment.content, content_type=attachment.content_type or "application/octet-stream"
    )
