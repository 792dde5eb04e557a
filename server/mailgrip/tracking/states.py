"""States derived from events: sent, received, opened, link opened, downloaded.

Events are the only source. The open-tracking image is one URL for every recipient of a message,
so an image fetch is evidence at message level only. A recipient counts as having opened when
they verify, open the link or download, because images are often blocked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ..access.models import Block
from ..db import db
from ..mirror.models import Message, Recipient
from ..shares.models import File
from .models import Event

# Evidence kinds, strongest first: a download proves more than an image fetch.
EVIDENCE_ORDER = ("download", "verified", "link", "image")

# Security scanners fetch every link at delivery; their events stay in the timeline but turn no
# state on.
IGNORED_CLASSIFICATIONS = frozenset({"scanner"})


@dataclass
class Evidence:
    """Whether a state holds, since when, and the strongest kind of event behind it."""

    value: bool = False
    at: datetime | None = None
    evidence: str | None = None

    def add(self, at: datetime, evidence: str | None = None) -> None:
        if not self.value or at < self.at:
            self.at = at
        self.value = True
        if evidence and (
            self.evidence is None
            or EVIDENCE_ORDER.index(evidence) < EVIDENCE_ORDER.index(self.evidence)
        ):
            self.evidence = evidence


@dataclass
class DownloadCount:
    count: int = 0
    last_at: datetime | None = None

    def add(self, at: datetime) -> None:
        self.count += 1
        if self.last_at is None or at > self.last_at:
            self.last_at = at


@dataclass
class EventCount(DownloadCount):
    """How often an event happened, and when it last did."""


@dataclass
class RecipientStates:
    recipient: Recipient
    opened: Evidence = field(default_factory=Evidence)
    link_opened: Evidence = field(default_factory=Evidence)
    verified: Evidence = field(default_factory=Evidence)
    # Whether a limit stopped code entries or requests for this recipient, and when last.
    verification_locked: EventCount = field(default_factory=EventCount)
    downloads: dict[int, DownloadCount] = field(default_factory=lambda: defaultdict(DownloadCount))
    block: Block | None = None


@dataclass
class FileStates:
    file: File
    downloaded_by: dict[int, DownloadCount] = field(
        default_factory=lambda: defaultdict(DownloadCount)
    )
    unattributed_downloads: int = 0
    block: Block | None = None


@dataclass
class MessageStates:
    """Everything the task pane shows for one message."""

    message: Message
    opened: Evidence = field(default_factory=Evidence)
    link_opened: Evidence = field(default_factory=Evidence)
    download_count: int = 0
    # Code requests from addresses that the message was not sent to, with their domains.
    verification_refused: EventCount = field(default_factory=EventCount)
    refused_domains: set[str] = field(default_factory=set)
    recipients: list[RecipientStates] = field(default_factory=list)
    files: list[FileStates] = field(default_factory=list)
    block_all: Block | None = None
    blocks: list[Block] = field(default_factory=list)


def derive_states(message: Message) -> MessageStates:
    """Derive the states of a message and its recipients and files from its share's events."""
    states = MessageStates(message=message)
    by_recipient = {r.id: RecipientStates(recipient=r) for r in message.recipients}
    states.recipients = list(by_recipient.values())
    if message.share is None:
        return states

    by_file = {f.id: FileStates(file=f) for f in message.share.files}
    states.files = list(by_file.values())
    _apply_blocks(states, by_recipient, by_file)

    events = db.session.scalars(
        sa.select(Event).where(Event.share_id == message.share_id).order_by(Event.occurred_at)
    )
    for event in events:
        if event.classification in IGNORED_CLASSIFICATIONS:
            continue
        _apply_event(states, event, by_recipient.get(event.recipient_id), by_file)
    return states


def _apply_blocks(
    states: MessageStates, by_recipient: dict[int, RecipientStates], by_file: dict[int, FileStates]
) -> None:
    states.blocks = list(
        db.session.scalars(
            sa.select(Block).where(Block.share_id == states.message.share_id).order_by(Block.id)
        )
    )
    for block in states.blocks:
        if not block.active:
            continue
        if block.scope == "all":
            states.block_all = block
        elif block.scope == "recipient" and block.recipient_id in by_recipient:
            by_recipient[block.recipient_id].block = block
        elif block.scope == "file" and block.file_id in by_file:
            by_file[block.file_id].block = block


def _apply_event(
    states: MessageStates,
    event: Event,
    recipient: RecipientStates | None,
    by_file: dict[int, FileStates],
) -> None:
    at = event.occurred_at
    if event.kind == "opened":
        states.opened.add(at, "image")
    elif event.kind == "link_opened":
        states.link_opened.add(at)
        states.opened.add(at, "link")
        if recipient:
            recipient.link_opened.add(at)
            recipient.opened.add(at, "link")
    elif event.kind == "verified":
        # Verifying and downloading happen on the portal page, so someone followed the link.
        states.link_opened.add(at)
        states.opened.add(at, "verified")
        if recipient:
            recipient.verified.add(at)
            recipient.link_opened.add(at)
            recipient.opened.add(at, "verified")
    elif event.kind == "verification_locked" and recipient:
        recipient.verification_locked.add(at)
    elif event.kind == "verification_refused":
        states.verification_refused.add(at)
        domain = (event.detail or {}).get("domain")
        if domain:
            states.refused_domains.add(domain)
    elif event.kind == "downloaded":
        states.download_count += 1
        states.link_opened.add(at)
        states.opened.add(at, "download")
        file_states = by_file.get(event.file_id)
        if recipient:
            recipient.link_opened.add(at)
            recipient.opened.add(at, "download")
            recipient.downloads[event.file_id].add(at)
        if file_states and recipient:
            file_states.downloaded_by[recipient.recipient.id].add(at)
        elif file_states:
            file_states.unattributed_downloads += 1
