"""Recording tracking events with the facts of the request that caused them."""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from ..db import db, utcnow
from ..mirror.models import Message, Recipient
from ..shares.models import File, Share
from ..shares.service import linked_message
from ..text import remove_control_characters
from .classify import SENDER, Classification, classify
from .delivery import delivery_time
from .models import EVENT_KINDS, Event
from .sender import carries_sender_cookie
from .signals import BURST_SECONDS, IMAGE_KINDS, PAGE_KINDS, RequestFacts

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
    if recipient is not None:
        # A download records from its response stream, where ``recipient`` is detached from
        # the session, so the rows are loaded afresh by id.
        recipient = db.session.get(Recipient, recipient.id)
    if message is None and recipient is not None:
        message = db.session.get(Message, recipient.message_id)
    elif message is None:
        message = linked_message(share)

    event = Event(
        kind=kind,
        occurred_at=utcnow(),
        share_id=share.id,
        message_id=message.id if message is not None else None,
        recipient_id=recipient.id if recipient is not None else None,
        file_id=file.id if file is not None else None,
        detail=detail or {},
    )
    if has_request_context():
        event.ip_prefix = truncate_ip(request.remote_addr)
        event.user_agent = clean_user_agent(request.headers.get("User-Agent"))
        facts = _request_facts(event, share, message, recipient)
        event.request_facts = stored_facts(facts)
        classification = _classify_request(kind, share, facts)
    else:
        classification = classify(RequestFacts(kind=kind, method=None))
    event.classification = classification.label
    event.classification_reasons = classification.reasons
    db.session.add(event)
    log.debug("Event %s for share %s (%s)", kind, share.id, classification.label)
    return event


def _classify_request(kind: str, share: Share, facts: RequestFacts) -> Classification:
    if kind == "sender_viewed":
        return Classification(SENDER, ["the sender's task pane loaded this message's tracking"])
    if carries_sender_cookie(share):
        return Classification(SENDER, ["sent from the browser that the sender's task pane marked"])
    return classify(facts)


def _request_facts(
    event: Event, share: Share, message: Message | None, recipient: Recipient | None
) -> RequestFacts:
    """Gather the facts of the current request that the classifier weighs."""
    delivered = delivery_time(message, recipient)
    seconds = (event.occurred_at - delivered).total_seconds() if delivered else None
    return RequestFacts(
        kind=event.kind,
        method=request.method,
        user_agent=event.user_agent,
        ip_prefix=event.ip_prefix,
        seconds_since_delivery=round(seconds, 1) if seconds is not None else None,
        recent_requests=_recent_fetches(share, event.ip_prefix, event.occurred_at),
    )


def _recent_fetches(share: Share, ip_prefix: str | None, now: datetime) -> int:
    """Count image and page fetches of ``share`` from ``ip_prefix`` in the last BURST_SECONDS."""
    if ip_prefix is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count(Event.id)).where(
            Event.share_id == share.id,
            Event.ip_prefix == ip_prefix,
            Event.kind.in_(IMAGE_KINDS | PAGE_KINDS),
            Event.occurred_at >= now - timedelta(seconds=BURST_SECONDS),
        )
    ) or 0


def stored_facts(facts: RequestFacts) -> dict[str, Any]:
    """Return the facts that ``Event.request_facts`` keeps beside the event's own columns."""
    return {
        "method": facts.method,
        "seconds_since_delivery": facts.seconds_since_delivery,
        "recent_requests": facts.recent_requests,
    }


def facts_of(event: Event, script_ran: bool | None = None) -> RequestFacts | None:
    """Rebuild the facts an event was labelled from, adding later evidence; None if unknown."""
    stored = event.request_facts
    if not stored:
        return None
    return RequestFacts(
        kind=event.kind,
        method=stored.get("method"),
        user_agent=event.user_agent,
        ip_prefix=event.ip_prefix,
        seconds_since_delivery=stored.get("seconds_since_delivery"),
        recent_requests=stored.get("recent_requests") or 0,
        script_ran=script_ran,
    )


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
