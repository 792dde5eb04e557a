"""States derived from events: sent, received, opened, link opened, downloaded, forwarded.

Events are the only source. The open-tracking image is one URL for every recipient of a message,
so an image fetch is evidence at message level only. A recipient counts as having opened when
they verify, open the link or download, because images are often blocked.

Each state keeps its strongest evidence and that evidence's own time. Only an event labelled
``person`` turns a state on. Events of proxies, scanners and unknown clients are kept as weak
evidence, so the pane can show what was seen without claiming more, and the sender's own views
never count.
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
from .classify import PERSON, PROXY, SCANNER, SENDER, UNKNOWN
from .evaluation import EvaluatedEvent, evaluate_events

# Evidence kinds, strongest first: a download proves more than an image fetch.
EVIDENCE_ORDER = ("download", "verified", "link", "image")
# Labels, strongest first. A person's image fetch outranks a scanner's download.
LABEL_ORDER = (PERSON, UNKNOWN, PROXY, SCANNER)
# Downloads by these count; a scanner's or proxy's download is only in the timeline.
COUNTED_LABELS = frozenset({PERSON, UNKNOWN})


@dataclass
class Evidence:
    """A state: whether a person's event turned it on, and its strongest evidence.

    ``at``, ``evidence``, ``label`` and ``by`` all describe that one strongest event, so the
    time shown is the time of the evidence shown.
    """

    value: bool = False
    at: datetime | None = None
    evidence: str | None = None
    label: str | None = None
    by: Recipient | None = None

    def add(self, at: datetime, evidence: str, label: str, by: Recipient | None = None) -> None:
        if label not in LABEL_ORDER:
            return
        stronger = self.at is None or (
            _rank(label, evidence, at) < _rank(self.label, self.evidence, self.at)
        )
        if stronger:
            self.at, self.evidence, self.label, self.by = at, evidence, label, by
        self.value = self.label == PERSON


def _rank(label: str | None, evidence: str | None, at: datetime) -> tuple[int, int, datetime]:
    """Return the sort key of one piece of evidence: strongest first, then earliest."""
    return (LABEL_ORDER.index(label), EVIDENCE_ORDER.index(evidence), at)


@dataclass
class DownloadCount:
    count: int = 0
    last_at: datetime | None = None

    def add(self, at: datetime) -> None:
        self.count += 1
        if self.last_at is None or at > self.last_at:
            self.last_at = at


@dataclass
class ForwardedAccess:
    """Attempts by people the message was not sent to, through a forwarded link."""

    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    # Only the domains of the addresses tried are stored, never the addresses.
    domains: set[str] = field(default_factory=set)

    def add(self, at: datetime, domain: str | None) -> None:
        self.count += 1
        self.first_at = min(self.first_at or at, at)
        self.last_at = max(self.last_at or at, at)
        if domain:
            self.domains.add(domain)


@dataclass
class RecipientStates:
    recipient: Recipient
    opened: Evidence = field(default_factory=Evidence)
    link_opened: Evidence = field(default_factory=Evidence)
    verified: Evidence = field(default_factory=Evidence)
    downloads: dict[int, DownloadCount] = field(default_factory=lambda: defaultdict(DownloadCount))
    # How often a limit stopped this recipient's code entries or requests, and when last.
    verification_locked: DownloadCount = field(default_factory=DownloadCount)
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
    downloaded: Evidence = field(default_factory=Evidence)
    download_count: int = 0
    forwarded: ForwardedAccess = field(default_factory=ForwardedAccess)
    recipients: list[RecipientStates] = field(default_factory=list)
    files: list[FileStates] = field(default_factory=list)
    block_all: Block | None = None
    blocks: list[Block] = field(default_factory=list)
    timeline: list[EvaluatedEvent] = field(default_factory=list)


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

    states.timeline = evaluate_events(message.share_id)
    for evaluated in states.timeline:
        if evaluated.label == SENDER:
            continue
        _apply_event(states, evaluated, by_recipient.get(evaluated.event.recipient_id), by_file)
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
    evaluated: EvaluatedEvent,
    recipient: RecipientStates | None,
    by_file: dict[int, FileStates],
) -> None:
    event, label = evaluated.event, evaluated.label
    at = event.occurred_at
    who = recipient.recipient if recipient else None
    if event.kind == "opened":
        states.opened.add(at, "image", label)
    elif event.kind == "link_opened":
        _apply_portal_step(states, recipient, at, "link", label, who)
    elif event.kind == "verified":
        # Verifying and downloading happen on the portal page, so someone followed the link.
        _apply_portal_step(states, recipient, at, "verified", label, who)
        if recipient:
            recipient.verified.add(at, "verified", label, who)
    elif event.kind == "downloaded":
        _apply_portal_step(states, recipient, at, "download", label, who)
        states.downloaded.add(at, "download", label, who)
        if label in COUNTED_LABELS:
            _count_download(states, event.file_id, recipient, at, by_file)
    elif event.kind == "verification_locked" and recipient:
        recipient.verification_locked.add(at)
    elif event.kind == "verification_refused" and label in COUNTED_LABELS:
        states.forwarded.add(at, (event.detail or {}).get("domain"))


def _apply_portal_step(
    states: MessageStates,
    recipient: RecipientStates | None,
    at: datetime,
    evidence: str,
    label: str,
    who: Recipient | None,
) -> None:
    states.link_opened.add(at, evidence, label, who)
    states.opened.add(at, evidence, label, who)
    if recipient:
        recipient.link_opened.add(at, evidence, label, who)
        recipient.opened.add(at, evidence, label, who)


def _count_download(
    states: MessageStates,
    file_id: int | None,
    recipient: RecipientStates | None,
    at: datetime,
    by_file: dict[int, FileStates],
) -> None:
    states.download_count += 1
    file_states = by_file.get(file_id) if file_id is not None else None
    if recipient and file_id is not None:
        recipient.downloads[file_id].add(at)
    if file_states and recipient:
        file_states.downloaded_by[recipient.recipient.id].add(at)
    elif file_states:
        file_states.unattributed_downloads += 1
