"""Parsing of delivery status notifications (RFC 3464), the machine-readable part of a bounce.

A report is a ``multipart/report`` message. Its ``message/delivery-status`` part holds one
block of fields about the message, then one block per recipient (Final-Recipient, Action,
Status, Diagnostic-Code). A ``message/rfc822`` or ``text/rfc822-headers`` part carries the
original message or its header, whose Message-ID names the message that bounced.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message as MimeMessage
from email.parser import HeaderParser

# RFC 3463 status codes: class.subject.detail, e.g. 5.1.1.
_STATUS_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})


class NotADeliveryReport(ValueError):
    """The message has no delivery-status part with a recipient in it."""


@dataclass(frozen=True)
class RecipientStatus:
    """The per-recipient fields of a report; addresses without their ``rfc822;`` type."""

    final_recipient: str | None
    original_recipient: str | None
    action: str
    status: str
    diagnostic_code: str | None = None
    remote_mta: str | None = None

    @property
    def addresses(self) -> list[str]:
        """The original recipient first, because it is how the sender wrote the address."""
        return [item for item in (self.original_recipient, self.final_recipient) if item]


@dataclass(frozen=True)
class DeliveryReport:
    """The content of one report: which message, and what happened to each recipient."""

    original_message_id: str | None
    original_envelope_id: str | None
    reporting_mta: str | None
    recipients: tuple[RecipientStatus, ...]


def parse_delivery_report(raw: bytes) -> DeliveryReport:
    """Parse a report from its raw MIME bytes.

    Blocks without an Action or a recipient (free text in a part labelled
    ``message/delivery-status``, which some servers send) are skipped.

    :raise NotADeliveryReport: no block reports on a recipient.
    """
    mime = email.message_from_bytes(raw, policy=email.policy.compat32)
    per_message: list[MimeMessage] = []
    recipients: list[RecipientStatus] = []
    original_message_id = None
    for part in mime.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            blocks = part.get_payload()
            if not isinstance(blocks, list):
                continue
            for block in blocks:
                status = _recipient_status(block)
                if status is not None:
                    recipients.append(status)
                elif block.get("Reporting-MTA") or block.get("Original-Envelope-Id"):
                    per_message.append(block)
        elif original_message_id is None and content_type in (
            "message/rfc822",
            "text/rfc822-headers",
        ):
            original_message_id = _original_message_id(part)
    if not recipients:
        raise NotADeliveryReport(
            "The message has no message/delivery-status part that names a recipient and an "
            "action; it is not a delivery status notification."
        )
    return DeliveryReport(
        original_message_id=original_message_id,
        original_envelope_id=_field(per_message, "Original-Envelope-Id"),
        reporting_mta=_typed_value(_field(per_message, "Reporting-MTA")),
        recipients=tuple(recipients),
    )


def _recipient_status(block: MimeMessage) -> RecipientStatus | None:
    action = _unfold(block.get("Action", "")).lower()
    final = _address(block.get("Final-Recipient"))
    original = _address(block.get("Original-Recipient"))
    if action not in ACTIONS or not (final or original):
        return None
    status_match = _STATUS_CODE.search(block.get("Status", ""))
    diagnostic = _typed_value(block.get("Diagnostic-Code"))
    return RecipientStatus(
        final_recipient=final,
        original_recipient=original,
        action=action,
        status=".".join(status_match.groups()) if status_match else "",
        diagnostic_code=diagnostic,
        remote_mta=_typed_value(block.get("Remote-MTA")),
    )


def _original_message_id(part: MimeMessage) -> str | None:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        headers = payload[0] if isinstance(payload, list) and payload else None
    else:
        text = part.get_payload(decode=True) or b""
        headers = HeaderParser(policy=email.policy.compat32).parsestr(
            text.decode("utf-8", "replace")
        )
    if headers is None:
        return None
    value = _unfold(headers.get("Message-ID", ""))
    return value or None


def _field(blocks: list[MimeMessage], name: str) -> str | None:
    for block in blocks:
        value = _unfold(block.get(name, ""))
        if value:
            return value
    return None


def _typed_value(value: str | None) -> str | None:
    """Return a field's value without its type: ``smtp; 550 ...`` becomes ``550 ...``."""
    if not value:
        return None
    _, separator, rest = _unfold(value).partition(";")
    text = (rest if separator else value).strip()
    return " ".join(text.split()) or None


def _address(value: str | None) -> str | None:
    """Return the address of an ``rfc822; <user@example.com>`` field, or None."""
    address = _typed_value(value)
    if not address:
        return None
    address = address.strip().strip("<>").strip()
    return address if "@" in address else None


def _unfold(value: object) -> str:
    return " ".join(str(value).split())
