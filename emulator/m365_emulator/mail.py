"""Sending mail: messages from ``sendMail`` JSON, the outbox, Sent Items and local delivery."""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

from .mime import non_delivery_report
from .model import Attachment, EmailAddress, Message, SentMail, User, new_item_id
from .state import EmulatorState


class InvalidMessage(ValueError):
    """A ``sendMail`` payload cannot be sent; ``code`` is Graph's error code for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _recipients(payload: dict[str, Any], field: str) -> list[EmailAddress]:
    values = payload.get(field) or []
    if not isinstance(values, list):
        raise InvalidMessage("ErrorInvalidRecipients", f"'{field}' must be a list of recipients.")
    recipients = []
    for value in values:
        address = value.get("emailAddress") if isinstance(value, dict) else None
        if not isinstance(address, dict):
            address = {}
        text = str(address.get("address", "")).strip()
        if "@" not in text:
            raise InvalidMessage(
                "ErrorInvalidRecipients",
                f"At least one recipient isn't valid: {text!r} in '{field}' is not an address.",
            )
        recipients.append(EmailAddress(str(address.get("name") or text), text))
    return recipients


def _attachments(payload: dict[str, Any]) -> list[Attachment]:
    attachments = []
    for value in payload.get("attachments") or []:
        kind = str(value.get("@odata.type", "#microsoft.graph.fileAttachment")).lower()
        if kind != "#microsoft.graph.fileattachment":
            raise InvalidMessage(
                "ErrorInvalidRequest",
                f"Attachments of type {value.get('@odata.type')!r} cannot be sent; use "
                "#microsoft.graph.fileAttachment.",
            )
        try:
            content = base64.b64decode(str(value.get("contentBytes", "")), validate=True)
        except binascii.Error:
            raise InvalidMessage(
                "ErrorInvalidRequest",
                f"contentBytes of attachment {value.get('name')!r} is not valid base64.",
            ) from None
        attachments.append(
            Attachment(
                kind="file",
                name=str(value.get("name") or "attachment"),
                content_type=str(value.get("contentType") or "application/octet-stream"),
                content=content,
                is_inline=bool(value.get("isInline", False)),
                content_id=value.get("contentId"),
            )
        )
    return attachments


def message_from_graph(payload: Any, sender: User) -> Message:
    """Build a message from the ``message`` object of a ``sendMail`` request.

    :raise InvalidMessage: the message is missing, has no valid recipient, or an attachment
        is invalid.
    """
    if not isinstance(payload, dict):
        raise InvalidMessage(
            "ErrorInvalidRecipients",
            "The request has no 'message' object, so the message has no recipients.",
        )
    to = _recipients(payload, "toRecipients")
    cc = _recipients(payload, "ccRecipients")
    bcc = _recipients(payload, "bccRecipients")
    if not (to or cc or bcc):
        raise InvalidMessage(
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid., A message can't be sent because it contains "
            "no recipients.",
        )
    body = payload.get("body") or {}
    content_type = str(body.get("contentType", "text")).lower()
    if content_type not in ("text", "html"):
        raise InvalidMessage(
            "ErrorInvalidRequest",
            f"body.contentType {body.get('contentType')!r} is not Text or HTML.",
        )
    own_address = EmailAddress(sender.display_name, sender.address)
    from_value = (payload.get("from") or {}).get("emailAddress") or {}
    from_address = (
        EmailAddress(str(from_value.get("name", "")), str(from_value["address"]))
        if from_value.get("address")
        else own_address
    )
    return Message(
        subject=str(payload.get("subject") or ""),
        body_content=str(body.get("content") or ""),
        body_type=content_type,
        sender=own_address,
        from_=from_address,
        to_recipients=to,
        cc_recipients=cc,
        bcc_recipients=bcc,
        reply_to=_recipients(payload, "replyTo"),
        importance=str(payload.get("importance") or "normal").lower(),
        attachments=_attachments(payload),
    )


def send(state: EmulatorState, sender: User, message: Message, save_to_sent_items: bool) -> None:
    """Send a message now: record it in the outbox, file it in Sent Items when asked, and put a
    copy in the Inbox of every recipient who is a user of the emulated tenant.

    Message trace records every recipient, and the sender's Inbox receives a non-delivery
    report when an outcome rule makes a recipient fail.
    """
    state.stamp_sent(message)
    message.is_read = True
    state.record_sent(
        SentMail(
            sender=message.from_.address if message.from_ else sender.address,
            to=tuple(item.address for item in message.to_recipients),
            cc=tuple(item.address for item in message.cc_recipients),
            bcc=tuple(item.address for item in message.bcc_recipients),
            subject=message.subject,
            body=message.body_content,
            content_type=message.body_type,
            sent=message.sent or message.created,
            attachment_names=tuple(item.name for item in message.attachments if not item.is_inline),
        )
    )
    if save_to_sent_items:
        state.add_message(sender.id, message, "sentitems")
    recipients = message.to_recipients + message.cc_recipients + message.bcc_recipients
    delivered: set[str] = set()
    for recipient in recipients:
        user = state.find_user(recipient.address)
        if user is None or user.id in delivered:
            continue
        delivered.add(user.id)
        state.add_message(user.id, _inbox_copy(message), "inbox")
    failures = state.traces.record_send(sender.address, message)
    if failures:
        state.add_message(sender.id, non_delivery_report(sender, message, failures), "inbox")


def _inbox_copy(message: Message) -> Message:
    copied = copy.deepcopy(message)
    copied.id = new_item_id()
    copied.bcc_recipients = []
    copied.is_read = False
    copied.extended_properties = {}
    for attachment in copied.attachments:
        attachment.id = new_item_id()
    return copied
