"""Recording tracking events with the facts of the request that caused them."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from flask import has_request_context, request

from ..db import db
from ..mirror.models import Message, Recipient
from ..shares.models import File, Share
from ..shares.service import linked_message
from ..text import remove_control_characters
from .classify import classify
from .models import EVENT_KINDS, Event

log = logging.getLogger(__name__)

MAX_USER_AGENT_CHARS = 512
# Kept prefix lengths: enough for support to see a network or provider, not a household.
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def record_event(
    kind: str,
    share: Share,
    *,
    message: Message | None = None,
    recipient: Recipient | None = None,
    file: File | None = None,
    detail: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the session with the current request's facts; the caller commits.

    The message defaults to the recipient's message, else to the message linked to the share.

    :raise ValueError: ``kind`` is not one of ``EVENT_KINDS``.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {EVENT_KINDS}")
    if message is not None:
        message_id: int | None = message.id
    elif recipient is not None:
        message_id = recipient.message_id
    else:
        linked = linked_message(share)
        message_id = linked.id if linked is not None else None

    event = Event(
        kind=kind,
        share_id=share.id,
        message_id=message_id,
        recipient_id=recipient.id if recipient is not None else None,
        file_id=file.id if file is not None else None,
        detail=detail or {},
    )
    if has_request_context():
        user_agent = clean_user_agent(request.headers.get("User-Agent"))
        event.ip_prefix = truncate_ip(request.remote_addr)
        event.user_agent = user_agent
        label, reasons = classify(kind, request.method, user_agent)
    else:
        label, reasons = classify(kind, None, None)
    event.classification = label
    event.classification_reasons = reasons
    db.session.add(event)
    log.debug("Event %s for share %s (%s)", kind, share.id, label)
    return event


def clean_user_agent(header: str | None) -> str | None:
    """Return the User-Agent header without control characters, cut to its stored length."""
    cleaned = remove_control_characters(header or "")
    return cleaned[:MAX_USER_AGENT_CHARS] or None


def truncate_ip(address: str | None) -> str | None:
    """Return the network of ``address``: IPv4 to /24, IPv6 to /48; None when unparsable.

    An IPv4-mapped IPv6 address is treated as the IPv4 address it carries.
    """
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is None:
            return str(ipaddress.IPv6Network((int(ip), IPV6_PREFIX), strict=False))
        ip = ip.ipv4_mapped
    return str(ipaddress.IPv4Network((int(ip), IPV4_PREFIX), strict=False))
