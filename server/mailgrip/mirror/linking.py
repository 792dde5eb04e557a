"""Linking a mirrored message to its share: the add-in's custom property, else the body link."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from ..config import Settings
from ..db import db
from ..graph.client import GraphClient, GraphError
from ..shares.models import Share
from ..shares.tokens import hash_token
from .models import Mailbox, Message

log = logging.getLogger(__name__)

# Office.js custom properties live in one string named property in PS_PUBLIC_STRINGS, named
# "cecp-" plus the add-in id in lower case without braces, holding a JSON object
# ([MS-OXCEXT] 2.2.5 "Mail App Custom Properties").
PS_PUBLIC_STRINGS = "{00020329-0000-0000-C000-000000000046}"
SHARE_PROPERTY = "mailgripShareId"


def custom_property_id(addin_id: str) -> str:
    """Return the Graph extended-property id under which Outlook stores the add-in's properties."""
    name = addin_id.lower().strip("{}").removeprefix("urn:uuid:")
    return f"String {PS_PUBLIC_STRINGS} Name cecp-{name}"


def find_share(
    mailbox: Mailbox, item: dict[str, Any], graph: GraphClient, settings: Settings
) -> Share | None:
    """Return the mailbox's share that a sent item carries, or None for a message without one."""
    share_id = _share_id_from_property(mailbox, item["id"], graph, settings)
    if share_id:
        share = db.session.get(Share, share_id)
        if _owned(share, mailbox, f"custom property of message {item['id']}"):
            return share
    # A reply can quote an earlier message's link above its own, so every link is tried.
    for token in _tokens_from_body(item, settings):
        share = db.session.scalar(
            sa.select(Share).where(Share.link_token_hash == hash_token(token))
        )
        if _owned(share, mailbox, f"body link of message {item['id']}"):
            return share
    return None


def _owned(share: Share | None, mailbox: Mailbox, source: str) -> bool:
    """Check whether ``share`` may be linked to a message of ``mailbox`` found via ``source``."""
    if share is None:
        return False
    if share.owner_mailbox_id != mailbox.id:
        # Another user's share id or link pasted into this message must not hand over control.
        log.warning(
            "Mailbox %s: %s names share %s of another mailbox; ignored",
            mailbox.id,
            source,
            share.id,
        )
        return False
    linked = db.session.scalar(sa.select(Message.id).where(Message.share_id == share.id))
    if linked is not None:
        # A reply or forward that quotes the link; its recipients were not sent the files.
        log.info(
            "Mailbox %s: %s names share %s, already linked to message %s; not linked again",
            mailbox.id,
            source,
            share.id,
            linked,
        )
        return False
    return True


def _share_id_from_property(
    mailbox: Mailbox, graph_id: str, graph: GraphClient, settings: Settings
) -> str | None:
    property_id = custom_property_id(settings.addin_id)
    try:
        message = graph.get_json(
            f"users/{quote(mailbox.object_id)}/messages/{quote(graph_id, safe='')}",
            params={
                "$select": "id",
                "$expand": f"singleValueExtendedProperties($filter=id eq '{property_id}')",
            },
        )
    except GraphError as error:
        log.warning(
            "Mailbox %s: reading the custom property of %s failed: %s", mailbox.id, graph_id, error
        )
        return None
    for prop in message.get("singleValueExtendedProperties") or []:
        if prop.get("id", "").lower() != property_id.lower():
            continue
        try:
            values = json.loads(prop.get("value") or "{}")
        except ValueError:
            log.warning("Mailbox %s: custom property of %s is not JSON", mailbox.id, graph_id)
            return None
        share_id = values.get(SHARE_PROPERTY) if isinstance(values, dict) else None
        return str(share_id) if share_id else None
    return None


def _tokens_from_body(item: dict[str, Any], settings: Settings) -> list[str]:
    content = (item.get("body") or {}).get("content") or ""
    pattern = re.escape(settings.public_url) + r"/s/([A-Za-z0-9_-]{16,})"
    return list(dict.fromkeys(re.findall(pattern, content)))
