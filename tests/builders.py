"""Row builders for tests: mailboxes, messages with recipients, shares with stored files.

Each builder commits, so the rows are visible to a live server at once. Call them inside an
app context (the ``app`` fixture pushes one).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailgrip.db import db
from mailgrip.mirror.addresses import address_key
from mailgrip.mirror.models import Mailbox, Message, Recipient
from mailgrip.shares.models import File, Share
from mailgrip.shares.service import create_share
from mailgrip.shares.storage import current_storage
from mailgrip.shares.uploads import Upload

DEFAULT_FILES = {"report.pdf": b"%PDF-1.7\n% a small stand-in for a PDF\n%%EOF\n"}


@dataclass
class BuiltShare:
    """A share with its link and open-tracking tokens in clear, which only its creator ever has."""

    share: Share
    link_token: str
    open_token: str
    link: str
    open_tracking_url: str
    message: Message | None

    @property
    def files(self) -> list[File]:
        return self.share.files

    @property
    def path(self) -> str:
        """The portal path ``/s/<token>``, for the Flask test client."""
        return f"/s/{self.link_token}"

    @property
    def image_path(self) -> str:
        return f"/o/{self.open_token}.gif"

    def recipient(self, address: str) -> Recipient:
        """Return the recipient of the linked message with ``address``."""
        assert self.message is not None, "the share has no linked message"
        key = address_key(address)
        return next(r for r in self.message.recipients if r.address_key == key)


def make_mailbox(
    address: str = "alice@contoso.example",
    *,
    display_name: str = "Alice Sender",
    object_id: str | None = None,
    tenant_id: str = "00000000-0000-0000-0000-00000000c0de",
) -> Mailbox:
    """Add a mailbox; pass the emulator user's id as ``object_id`` when Graph must know it."""
    mailbox = Mailbox(
        tenant_id=tenant_id,
        object_id=object_id or secrets.token_hex(16),
        address=address,
        display_name=display_name,
    )
    db.session.add(mailbox)
    db.session.commit()
    return mailbox


def make_message(
    mailbox: Mailbox,
    recipients: Iterable[str | tuple[str, str]] = ("bob@fabrikam.example",),
    *,
    share: Share | None = None,
    subject: str = "Quarterly figures",
) -> Message:
    """Add a sent message with recipients given as addresses or ``(address, kind)`` pairs."""
    message = Message(
        mailbox_id=mailbox.id,
        graph_id=f"AAMkAG{secrets.token_hex(12)}=",
        internet_message_id=f"<{secrets.token_hex(8)}@contoso.example>",
        subject=subject,
        sender_address=mailbox.address,
        sent_at=datetime.now(UTC),
        share_id=share.id if share is not None else None,
    )
    for entry in recipients:
        address, kind = (entry, "to") if isinstance(entry, str) else entry
        message.recipients.append(
            Recipient(address=address, address_key=address_key(address), kind=kind)
        )
    db.session.add(message)
    db.session.commit()
    return message


def make_share(
    owner: Mailbox,
    files: Mapping[str, bytes] | Iterable[tuple[str, bytes, str]] | None = None,
    *,
    recipients: Iterable[str | tuple[str, str]] | None = ("bob@fabrikam.example",),
    verification: str = "code",
    expires_at: datetime | None = None,
) -> BuiltShare:
    """Store the files, create a share through ``create_share`` and link a message to it.

    :param files: ``{name: bytes}`` or ``(name, bytes, content_type)`` triples.
    :param recipients: recipients of the linked message; None links no message.
    """
    if files is None:
        files = DEFAULT_FILES
    entries = (
        [(name, data, "application/octet-stream") for name, data in files.items()]
        if isinstance(files, Mapping)
        else list(files)
    )
    storage = current_storage()
    uploads = [
        Upload(filename=name, content_type=content_type, stored=storage.save(io.BytesIO(data)))
        for name, data, content_type in entries
    ]
    created = create_share(owner, uploads, verification=verification)
    if expires_at is not None:
        created.share.expires_at = expires_at
    db.session.commit()

    message = None
    if recipients is not None:
        message = make_message(owner, recipients, share=created.share)
    return BuiltShare(
        share=created.share,
        link_token=created.link.rsplit("/s/", 1)[1],
        open_token=created.open_tracking_url.rsplit("/o/", 1)[1].removesuffix(".gif"),
        link=created.link,
        open_tracking_url=created.open_tracking_url,
        message=message,
    )


def expired() -> datetime:
    """A moment in the past, for ``make_share(expires_at=...)``."""
    return datetime.now(UTC) - timedelta(minutes=1)
