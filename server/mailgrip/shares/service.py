"""Creating shares from uploaded files, and finding shares and their recipients."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from ..db import db, utcnow
from ..errors import BadRequest
from ..mirror.models import Mailbox, Message, Recipient
from ..settings import current_settings
from .models import File, Share
from .names import clean_name, unique_names
from .tokens import hash_token, new_token
from .uploads import Upload

log = logging.getLogger(__name__)

# "code": a recipient proves their address with a one-time code before downloading.
# "none": anyone who has the link may download.
VERIFICATION_POLICIES = ("code", "none")


@dataclass(frozen=True)
class CreatedShare:
    """A new share with the two URLs that go into the message; only here are tokens in clear."""

    share: Share
    link: str
    open_tracking_url: str


def create_share(
    owner: Mailbox, uploads: Sequence[Upload], *, verification: str = "code"
) -> CreatedShare:
    """Add a share of the stored ``uploads`` owned by ``owner``; the caller commits.

    Display names are cleaned and numbered where they repeat; the link and open-tracking
    tokens are kept only as hashes.

    :raise BadRequest: there are no files, or ``verification`` is not a known policy.
    """
    if not uploads:
        raise BadRequest("Add at least one file: send each file as a multipart part named 'files'.")
    _check_verification(verification)
    created = _add_share(owner, verification)
    share = created.share
    names = unique_names([clean_name(upload.filename) for upload in uploads])
    for name, upload in zip(names, uploads, strict=True):
        share.files.append(
            File(
                display_name=name,
                size=upload.stored.size,
                content_type=upload.content_type,
                sha256=upload.stored.sha256,
                storage_key=upload.stored.key,
            )
        )
    db.session.flush()
    log.info("Share %s created by mailbox %s with %d files", share.id, owner.id, len(uploads))
    return created


def create_draft_share(owner: Mailbox, *, verification: str = "code") -> CreatedShare:
    """Add a share without files, which resumable uploads then fill; the caller commits.

    The add-in creates it while the user composes, so its link can go into the message at send.

    :raise BadRequest: ``verification`` is not a known policy.
    """
    _check_verification(verification)
    created = _add_share(owner, verification)
    created.share.draft = True
    db.session.flush()
    log.info("Draft share %s created by mailbox %s", created.share.id, owner.id)
    return created


def _check_verification(verification: str) -> None:
    if verification not in VERIFICATION_POLICIES:
        raise BadRequest(
            f"verification={verification!r} is not valid; use 'code' or 'none'.",
            field="verification",
        )


def _add_share(owner: Mailbox, verification: str) -> CreatedShare:
    settings = current_settings()
    link_token, link_hash = new_token()
    open_token, open_hash = new_token()
    share = Share(
        id=uuid.uuid4().hex,
        owner_mailbox_id=owner.id,
        link_token_hash=link_hash,
        open_token_hash=open_hash,
        verification=verification,
        expires_at=utcnow() + timedelta(days=settings.share_lifetime_days),
    )
    db.session.add(share)
    return CreatedShare(
        share=share,
        link=f"{settings.public_url}/s/{link_token}",
        open_tracking_url=f"{settings.public_url}/o/{open_token}.gif",
    )


def find_share_by_link_token(token: str) -> Share | None:
    """Return the share whose link carries ``token``, or None for an unknown token."""
    return db.session.scalar(sa.select(Share).where(Share.link_token_hash == hash_token(token)))


def find_share_by_open_token(token: str) -> Share | None:
    """Return the share whose open-tracking image URL carries ``token``, or None."""
    return db.session.scalar(sa.select(Share).where(Share.open_token_hash == hash_token(token)))


def linked_message(share: Share) -> Message | None:
    """Return the mirrored message that carries the share, the first one if several do."""
    return db.session.scalar(
        sa.select(Message).where(Message.share_id == share.id).order_by(Message.id).limit(1)
    )


def share_recipients(share: Share) -> list[Recipient]:
    """Return the recipients of every message linked to the share."""
    return list(
        db.session.scalars(
            sa.select(Recipient)
            .join(Message, Recipient.message_id == Message.id)
            .where(Message.share_id == share.id)
            .order_by(Recipient.id)
        )
    )


def share_recipient(share: Share, recipient_id: int) -> Recipient | None:
    """Return the recipient with ``recipient_id`` if a message of the share went to them."""
    return db.session.scalar(
        sa.select(Recipient)
        .join(Message, Recipient.message_id == Message.id)
        .where(Message.share_id == share.id, Recipient.id == recipient_id)
    )
