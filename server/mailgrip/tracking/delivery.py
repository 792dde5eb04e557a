"""The moment a message reached its recipients, from which the classifier times requests."""

from __future__ import annotations

from datetime import datetime

from ..mirror.models import Message, Recipient


def delivery_time(message: Message | None, recipient: Recipient | None = None) -> datetime | None:
    """Return when the message was delivered, or sent while no delivery time is known.

    A recipient's own delivery time comes first. For a request that names no recipient, such
    as an image fetch, the earliest delivery of any recipient counts, because the request can
    come from any of them.

    :return: the time, or None when the message is unknown or was never sent.
    """
    if recipient is not None and recipient.delivery_at is not None:
        return recipient.delivery_at
    if message is None:
        return None
    delivered = [r.delivery_at for r in message.recipients if r.delivery_at is not None]
    if recipient is None and delivered:
        return min(delivered)
    return message.sent_at
