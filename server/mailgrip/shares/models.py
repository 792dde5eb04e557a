"""Shares (the secure-files bundle of one message) and their files."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, db, utcnow


class Share(db.Model):
    """The secure-files bundle of one message.

    The link token and the open-tracking token are never stored, only their SHA-256 hashes.
    """

    __tablename__ = "share"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    owner_mailbox_id: Mapped[int] = mapped_column(sa.ForeignKey("mailbox.id"), index=True)
    link_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    open_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # "code": recipients verify with a one-time code; "none": anyone holding the link may download.
    verification: Mapped[str] = mapped_column(sa.String(16), default="code")
    # True for a share created empty for resumable uploads. Only a draft that no message
    # carries yet may gain or lose files; a share made in one request keeps its files as sent.
    draft: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    owner = relationship("Mailbox")
    files: Mapped[list[File]] = relationship(
        back_populates="share", order_by="File.id", cascade="all, delete-orphan"
    )
    messages = relationship("Message", back_populates="share")


class File(db.Model):
    """One attachment of a share. ``storage_key`` is random and never derived from the name."""

    __tablename__ = "file"
    __table_args__ = (sa.UniqueConstraint("share_id", "display_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[str] = mapped_column(sa.ForeignKey("share.id"), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    share: Mapped[Share] = relationship(back_populates="files")


class Upload(db.Model):
    """A file that a client sends in chunks into a share; ``file`` is set once it is complete.

    The bytes received so far are kept as a partial object under ``storage_key``, and become
    the file's stored object under the same key when the last byte arrives.
    """

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[str] = mapped_column(sa.ForeignKey("share.id"), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("file.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    share: Mapped[Share] = relationship()
    file: Mapped[File | None] = relationship()
