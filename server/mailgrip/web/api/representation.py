"""JSON representations of the API's resources (camelCase, ISO 8601 UTC times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...access.models import Block
from ...mirror.models import Message
from ...tracking.evaluation import EvaluatedEvent
from ...tracking.states import DownloadCount, Evidence, ForwardedAccess, MessageStates

# Event detail keys that are internal links between events, not facts for the sender.
_INTERNAL_DETAIL = frozenset({"visit"})


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def block_json(block: Block | None) -> dict[str, Any] | None:
    if block is None:
        return None
    return {
        "id": block.id,
        "scope": block.scope,
        "recipientId": block.recipient_id,
        "fileId": block.file_id,
        "createdBy": block.created_by,
        "createdAt": iso(block.created_at),
        "liftedBy": block.lifted_by,
        "liftedAt": iso(block.lifted_at),
        "active": block.active,
    }


def message_summary_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "subject": message.subject,
        "sentAt": iso(message.sent_at),
        "recipientCount": len(message.recipients),
        "hasShare": message.share_id is not None,
    }


def _evidence(state: Evidence) -> dict[str, Any]:
    """Return a state: on only through a person's event, with its strongest evidence."""
    return {
        "value": state.value,
        "at": iso(state.at),
        "evidence": state.evidence,
        "label": state.label,
        "by": state.by.address if state.by is not None else None,
    }


def _forwarded(access: ForwardedAccess) -> dict[str, Any]:
    return {
        "value": access.count > 0,
        "count": access.count,
        "firstAt": iso(access.first_at),
        "lastAt": iso(access.last_at),
        "domains": sorted(access.domains),
    }


def _count(count: DownloadCount) -> dict[str, Any]:
    return {"count": count.count, "lastAt": iso(count.last_at)}


def tracking_json(states: MessageStates, refresh_after_seconds: int) -> dict[str, Any]:
    """Build the task pane's view of one message."""
    message = states.message
    share = message.share
    files_by_id = {f.file.id: f.file for f in states.files}
    return {
        "id": message.id,
        "graphId": message.graph_id,
        "internetMessageId": message.internet_message_id,
        "subject": message.subject,
        "sentAt": iso(message.sent_at),
        "sender": message.sender_address,
        "inSentItems": message.in_sent_items,
        "share": None
        if share is None
        else {
            "id": share.id,
            "expiresAt": iso(share.expires_at),
            "verification": share.verification,
        },
        "message": {
            "opened": _evidence(states.opened),
            "linkOpened": _evidence(states.link_opened),
            "downloaded": _evidence(states.downloaded),
            "downloadCount": states.download_count,
            "forwardedAccess": _forwarded(states.forwarded),
        },
        "recipients": [
            {
                "id": r.recipient.id,
                "address": r.recipient.address,
                "displayName": r.recipient.display_name,
                "kind": r.recipient.kind,
                "sent": {"value": message.sent_at is not None, "at": iso(message.sent_at)},
                "received": {
                    "state": r.recipient.delivery_state,
                    "detail": r.recipient.delivery_detail,
                    "at": iso(r.recipient.delivery_at),
                    "source": r.recipient.delivery_source,
                },
                "opened": _evidence(r.opened),
                "linkOpened": _evidence(r.link_opened),
                "verified": _evidence(r.verified),
                "verificationLocked": _count(r.verification_locked),
                "downloads": [
                    {"fileId": file_id, "name": files_by_id[file_id].display_name, **_count(c)}
                    for file_id, c in r.downloads.items()
                    if file_id in files_by_id
                ],
                "block": block_json(r.block),
            }
            for r in states.recipients
        ],
        "files": [
            {
                "id": f.file.id,
                "name": f.file.display_name,
                "size": f.file.size,
                "contentType": f.file.content_type,
                "downloadedBy": [
                    {
                        "recipientId": recipient_id,
                        "address": _address_of(states, recipient_id),
                        **_count(c),
                    }
                    for recipient_id, c in f.downloaded_by.items()
                ],
                "unattributedDownloads": f.unattributed_downloads,
                "block": block_json(f.block),
            }
            for f in states.files
        ],
        "blockAll": block_json(states.block_all),
        "blocks": [block_json(b) for b in states.blocks],
        "refreshAfterSeconds": refresh_after_seconds,
    }


def _address_of(states: MessageStates, recipient_id: int) -> str | None:
    for r in states.recipients:
        if r.recipient.id == recipient_id:
            return r.recipient.address
    return None


def timeline_json(states: MessageStates) -> dict[str, Any]:
    """Build the timeline of one message: every event, newest first, with its label."""
    recipients = {r.recipient.id: r.recipient for r in states.recipients}
    files = {f.file.id: f.file for f in states.files}
    return {
        "id": states.message.id,
        "value": [
            _timeline_entry(evaluated, recipients, files)
            for evaluated in reversed(states.timeline)
        ],
    }


def _timeline_entry(
    evaluated: EvaluatedEvent, recipients: dict[int, Any], files: dict[int, Any]
) -> dict[str, Any]:
    event = evaluated.event
    recipient = recipients.get(event.recipient_id) if event.recipient_id else None
    file = files.get(event.file_id) if event.file_id else None
    return {
        "id": event.id,
        "kind": event.kind,
        "at": iso(event.occurred_at),
        "label": evaluated.label,
        "reasons": evaluated.reasons,
        "actor": evaluated.actor,
        "recipient": None if recipient is None else {
            "id": recipient.id, "address": recipient.address,
        },
        "file": None if file is None else {"id": file.id, "name": file.display_name},
        "detail": {k: v for k, v in (event.detail or {}).items() if k not in _INTERNAL_DETAIL},
    }
