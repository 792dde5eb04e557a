"""The records the emulator keeps: users, messages, attachments and sent mail."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def graph_datetime(value: dt.datetime) -> str:
    """Format a time as Graph does: ISO 8601 in UTC with a ``Z`` suffix, whole seconds."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_item_id() -> str:
    """Return an opaque, URL-safe id in the style of Exchange item ids."""
    return "AAMkAD" + base64.urlsafe_b64encode(secrets.token_bytes(33)).decode("ascii")


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(21)).decode("ascii")


def new_internet_message_id() -> str:
    """Return a ``Message-ID`` for a message that had none; the domain is reserved (RFC 6761)."""
    return f"<{uuid.uuid4().hex}@emulator.invalid>"


def conversation_id_for(subject: str) -> str:
    """Derive a conversation id from the subject without reply and forward prefixes."""
    normalized = subject.strip()
    while normalized[:4].lower() in ("re: ", "fw: ") or normalized[:5].lower() == "fwd: ":
        normalized = normalized.split(":", 1)[1].strip()
    digest = hashlib.sha256(normalized.lower().encode("utf-8", "replace")).digest()
    return "AAQkAD" + base64.urlsafe_b64encode(digest).decode("ascii")


def new_conversation_index(when: dt.datetime) -> str:
    """Return a 22-byte conversation index header: version, time, then a random GUID."""
    ticks = int(when.timestamp() * 10_000_000) >> 16
    header = b"\x01" + ticks.to_bytes(8, "big")[-5:] + uuid.uuid4().bytes
    return base64.b64encode(header).decode("ascii")


@dataclass
class User:
    """A user of the emulated tenant; ``address`` is both the UPN and the mail address."""

    id: str
    address: str
    display_name: str
    password_salt: bytes
    password_hash: bytes
    # App roles of Mailgrip's API assigned to the user ("Enterprise applications", "Users and
    # groups"); the identity platform lists them in the ``roles`` claim of tokens for that API.
    app_roles: frozenset[str] = frozenset()

    @staticmethod
    def hash_password(password: str, salt: bytes) -> bytes:
        return hashlib.scrypt(password.encode(), salt=salt, n=2**12, r=8, p=1)

    def check_password(self, password: str) -> bool:
        return secrets.compare_digest(
            self.hash_password(password, self.password_salt), self.password_hash
        )

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "userPrincipalName": self.address,
            "mail": self.address,
            "displayName": self.display_name,
        }


@dataclass(frozen=True)
class EmailAddress:
    """A Graph ``recipient``: a display name and an address."""

    name: str
    address: str

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"emailAddress": {"name": self.name, "address": self.address}}


@dataclass
class Attachment:
    """A file or item attachment; item attachments keep the attached message and its MIME."""

    kind: str  # "file" or "item"
    name: str
    content_type: str | None
    content: bytes
    is_inline: bool = False
    content_id: str | None = None
    content_location: str | None = None
    item: Message | None = None
    id: str = field(default_factory=new_item_id)
    last_modified: dt.datetime = field(default_factory=utc_now)

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class Message:
    """A message in a mailbox folder, with everything Graph's ``message`` resource shows."""

    subject: str = ""
    body_content: str = ""
    body_type: str = "text"  # Graph's bodyType: "text" or "html"
    sender: EmailAddress | None = None
    from_: EmailAddress | None = None
    to_recipients: list[EmailAddress] = field(default_factory=list)
    cc_recipients: list[EmailAddress] = field(default_factory=list)
    bcc_recipients: list[EmailAddress] = field(default_factory=list)
    reply_to: list[EmailAddress] = field(default_factory=list)
    internet_message_id: str = field(default_factory=new_internet_message_id)
    sent: dt.datetime | None = None
    received: dt.datetime | None = None
    created: dt.datetime = field(default_factory=utc_now)
    last_modified: dt.datetime = field(default_factory=utc_now)
    importance: str = "normal"
    is_read: bool = True
    is_draft: bool = False
    is_delivery_receipt_requested: bool = False
    is_read_receipt_requested: bool = False
    categories: list[str] = field(default_factory=list)
    flag_status: str = "notFlagged"
    inference_classification: str = "focused"
    attachments: list[Attachment] = field(default_factory=list)
    # Single-value extended properties by their full id, e.g. "String {GUID} Name X".
    extended_properties: dict[str, str] = field(default_factory=dict)
    conversation_id: str = ""
    conversation_index: str = ""
    # The message's MIME when it came as MIME (a delivery report); ``$value`` builds it otherwise.
    mime: bytes | None = None
    # Header fields as Graph's internetMessageHeaders lists them, in order.
    internet_headers: list[tuple[str, str]] = field(default_factory=list)
    id: str = field(default_factory=new_item_id)
    change_key: str = field(default_factory=new_change_key)
    # Bookkeeping of the mailbox: the folder it is in and the change number of its last change.
    folder: str = "sentitems"
    change_number: int = 0

    def __post_init__(self) -> None:
        if not self.conversation_id:
            self.conversation_id = conversation_id_for(self.subject)
        if not self.conversation_index:
            self.conversation_index = new_conversation_index(self.sent or self.created)

    @property
    def has_attachments(self) -> bool:
        """True when any attachment is not inline, which is what Outlook's paper clip shows."""
        return any(not attachment.is_inline for attachment in self.attachments)

    def touch(self) -> None:
        """Record a change: a new change key and modification time."""
        self.change_key = new_change_key()
        self.last_modified = utc_now()

    def find_attachment(self, attachment_id: str) -> Attachment | None:
        return next((item for item in self.attachments if item.id == attachment_id), None)


@dataclass(frozen=True)
class SentMail:
    """A message that left the tenant through ``sendMail`` or a send from Outlook."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    body: str
    content_type: str
    sent: dt.datetime
    attachment_names: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "from": self.sender,
            "to": list(self.to),
            "cc": list(self.cc),
            "bcc": list(self.bcc),
            "subject": self.subject,
            "body": self.body,
            "contentType": self.content_type,
            "sentDateTime": graph_datetime(self.sent),
            "attachments": list(self.attachment_names),
        }
