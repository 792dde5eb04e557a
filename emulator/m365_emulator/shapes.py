"""Graph JSON for messages and attachments, with ``$select`` applied."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from .model import Attachment, EmailAddress, Message, graph_datetime

BODY_PREVIEW_LENGTH = 255

# Properties of Graph's message resource in the order Graph returns them.
MESSAGE_PROPERTIES = (
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
)
# Properties that Graph returns only when $select names them.
SELECT_ONLY_PROPERTIES = ("internetMessageHeaders",)
_CANONICAL = {name.lower(): name for name in (*MESSAGE_PROPERTIES, *SELECT_ONLY_PROPERTIES)}
ATTACHMENT_PROPERTIES = (
    "id",
    "lastModifiedDateTime",
    "name",
    "contentType",
    "size",
    "isInline",
    "contentId",
    "contentLocation",
    "contentBytes",
)
_CANONICAL_ATTACHMENT = {name.lower(): name for name in ATTACHMENT_PROPERTIES}


class InvalidSelect(ValueError):
    """``$select`` names a property the resource does not have."""


def parse_select(raw: str | None, resource: str = "message") -> list[str] | None:
    """Return canonical property names from a ``$select`` value, or None when it is absent.

    :raise InvalidSelect: a name is not a property of the resource.
    """
    if not raw:
        return None
    canonical = _CANONICAL if resource == "message" else _CANONICAL_ATTACHMENT
    names = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if name.lower() not in canonical:
            raise InvalidSelect(
                f"Could not find a property named '{name}' on type 'microsoft.graph.{resource}'."
            )
        names.append(canonical[name.lower()])
    return names


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "script", "style", "title"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "script", "style", "title") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def body_preview(message: Message) -> str:
    """Return the first 255 characters of the body's text with whitespace collapsed."""
    text = message.body_content
    if message.body_type == "html":
        extractor = _TextExtractor()
        extractor.feed(text)
        extractor.close()
        text = " ".join(extractor.parts)
    return re.sub(r"\s+", " ", text).strip()[:BODY_PREVIEW_LENGTH]


def _address(value: EmailAddress | None) -> dict[str, Any] | None:
    return value.to_json() if value is not None else None


def _time(value) -> str | None:
    return graph_datetime(value) if value is not None else None


def web_link(base_url: str, message: Message) -> str:
    """Return an Outlook-on-the-web style link; the emulator serves no page there."""
    return (
        f"{base_url}/owa/?ItemID={quote(message.id, safe='')}&exvsurl=1&viewmodel=ReadMessageItem"
    )


def message_json(
    message: Message,
    folder_id: str,
    base_url: str,
    select: list[str] | None = None,
) -> dict[str, Any]:
    """Return the Graph ``message`` JSON; ``select`` keeps ``id`` and the etag as Graph does."""
    values: dict[str, Any] = {
        "id": message.id,
        "createdDateTime": _time(message.created),
        "lastModifiedDateTime": _time(message.last_modified),
        "changeKey": message.change_key,
        "categories": list(message.categories),
        "receivedDateTime": _time(message.received),
        "sentDateTime": _time(message.sent),
        "hasAttachments": message.has_attachments,
        "internetMessageId": message.internet_message_id,
        "subject": message.subject,
        "bodyPreview": body_preview(message),
        "importance": message.importance,
        "parentFolderId": folder_id,
        "conversationId": message.conversation_id,
        "conversationIndex": message.conversation_index,
        "isDeliveryReceiptRequested": message.is_delivery_receipt_requested,
        "isReadReceiptRequested": message.is_read_receipt_requested,
        "isRead": message.is_read,
        "isDraft": message.is_draft,
        "webLink": web_link(base_url, message),
        "inferenceClassification": message.inference_classification,
        "body": {"contentType": message.body_type, "content": message.body_content},
        "sender": _address(message.sender),
        "from": _address(message.from_),
        "toRecipients": [item.to_json() for item in message.to_recipients],
        "ccRecipients": [item.to_json() for item in message.cc_recipients],
        "bccRecipients": [item.to_json() for item in message.bcc_recipients],
        "replyTo": [item.to_json() for item in message.reply_to],
        "flag": {"flagStatus": message.flag_status},
        "internetMessageHeaders": [
            {"name": name, "value": value} for name, value in message.internet_headers
        ],
    }
    result: dict[str, Any] = {"@odata.etag": f'W/"{message.change_key}"'}
    names = MESSAGE_PROPERTIES if select is None else ["id", *select]
    for name in names:
        result[name] = values[name]
    return result


# The properties Graph shows for the message inside an expanded item attachment.
ITEM_PROPERTIES = (
    "createdDateTime",
    "lastModifiedDateTime",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "importance",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
)


def item_json(message: Message, base_url: str) -> dict[str, Any]:
    """Return the attached message of an item attachment; it has no id of its own."""
    full = message_json(message, "", base_url)
    return {
        "@odata.type": "#microsoft.graph.message",
        "id": "",
        **{name: full[name] for name in ITEM_PROPERTIES},
    }


def matching_extended_properties(message: Message, wanted_ids: list[str]) -> list[dict[str, str]]:
    """Return stored properties whose id matches one of ``wanted_ids``.

    Ids match ignoring case and repeated spaces, since GUIDs and property names are
    case-insensitive in MAPI.
    """

    def normalize(prop_id: str) -> str:
        return " ".join(prop_id.split()).lower()

    wanted = {normalize(prop_id) for prop_id in wanted_ids}
    return [
        {"id": prop_id, "value": value}
        for prop_id, value in message.extended_properties.items()
        if normalize(prop_id) in wanted
    ]


def attachment_json(
    attachment: Attachment,
    select: list[str] | None = None,
    include_bytes: bool = True,
) -> dict[str, Any]:
    """Return ``fileAttachment`` or ``itemAttachment`` JSON as Graph shapes them."""
    if attachment.kind == "item":
        values: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.itemAttachment",
            "id": attachment.id,
            "lastModifiedDateTime": _time(attachment.last_modified),
            "name": attachment.name,
            # Graph reports no content type for item attachments.
            "contentType": None,
            "size": attachment.size,
            "isInline": attachment.is_inline,
        }
    else:
        values = {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": attachment.id,
            "lastModifiedDateTime": _time(attachment.last_modified),
            "name": attachment.name,
            "contentType": attachment.content_type,
            "size": attachment.size,
            "isInline": attachment.is_inline,
            "contentId": attachment.content_id,
            "contentLocation": attachment.content_location,
        }
        if include_bytes:
            values["contentBytes"] = base64.b64encode(attachment.content).decode("ascii")
    if select is None:
        return values
    kept = {"@odata.type", "id", *select}
    return {name: value for name, value in values.items() if name in kept}
