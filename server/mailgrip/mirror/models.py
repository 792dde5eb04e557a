"""Mirrored mailboxes, sent messages and their recipients."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, db, utcnow

# Column sizes: an address is at most 320 characters (RFC 5321: 64 local + @ + 255 domain), a
# header line at most 998 (RFC 5322). Longer display names are cut; longer ids are not ids.
MAX_ADDRESS = 320
MAX_DISPLAY_NAME = 256
MAX_INTERNET_MESSAGE_ID = 998


class Mailbox(db.Model):
    """A user whose Sent Items are mirrored."""

    __tablename__ = "mailbox"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(MAX_ADDRESS), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(MAX_DISPLAY_NAME), default="")
    delta_link: Mapped[str | None] = mapped_column(sa.Text)
    subscription_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    subscription_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the subscription's clientState, which Graph echoes in every notification.
    subscription_client_state_hash: Mapped[str | None] = mapped_column(sa.String(64))
    subscription_error: Mapped[str | None] = mapped_column(sa.Text)
    last_notification_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_error: Mapped[str | None] = mapped_column(sa.Text)
    # Inbox messages received at or after this time have not been checked for delivery reports.
    reports_scanned_through: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    messages: Mapped[list[Message]] = relationship(back_populates="mailbox")


class Message(db.Model):
    """A mirrored sent item. ``internet_message_id`` is not unique and never a sole key."""

    __tablename__ = "message"
    __table_args__ = (sa.UniqueConstraint("mailbox_id", "graph_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(sa.ForeignKey("mailbox.id"), index=True)
    graph_id: Mapped[str] = mapped_column(sa.String(512))
    internet_message_id: Mapped[str | None] = mapped_column(
        sa.String(MAX_INTERNET_MESSAGE_ID), index=True
    )
    subject: Mapped[str] = mapped_column(sa.Text, default="")
    sender_address: Mapped[str] = mapped_column(sa.String(MAX_ADDRESS), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A share is the bundle of one message: a reply that quotes the link must not become a
    # second message of the share, because its recipients would gain access.
    share_id: Mapped[str | None] = mapped_column(sa.ForeignKey("share.id"), unique=True)
    # Moving a message out of Sent Items is not a deletion: the row stays and access is unchanged.
    in_sent_items: Mapped[bool] = mapped_column(default=True)
    mirrored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When message trace is next asked about this message; None once every recipient's state
    # is final or the message is too old to trace.
    trace_poll_after: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=utcnow, index=True
    )
    trace_poll_attempts: Mapped[int] = mapped_column(default=0)

    mailbox: Mapped[Mailbox] = relationship(back_populates="messages")
    recipients: Mapped[list[Recipient]] = relationship(
        back_populates="message", order_by="Recipient.id", cascade="all, delete-orphan"
    )
    share = relationship("Share", back_populates="messages")


class Recipient(db.Model):
    """One distinct address of a message; ``address_key`` is its comparison form."""

    __tablename__ = "recipient"
    __table_args__ = (sa.UniqueConstraint("message_id", "address_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("message.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(MAX_ADDRESS))
    address_key: Mapped[str] = mapped_column(sa.String(MAX_ADDRESS))
    display_name: Mapped[str] = mapped_column(sa.String(MAX_DISPLAY_NAME), default="")
    kind: Mapped[str] = mapped_column(sa.String(8))  # to, cc or bcc
    # "unknown" until a delivery source (message trace, a non-delivery report) reports otherwise.
    # The states are listed in ``mirror.delivery.STATES``.
    delivery_state: Mapped[str] = mapped_column(sa.String(32), default="unknown")
    delivery_detail: Mapped[str | None] = mapped_column(sa.Text)
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "trace" or "ndr": the source of ``delivery_state``; None while the state is unknown.
    delivery_source: Mapped[str | None] = mapped_column(sa.String(8))
    # Message trace's id of the row for this recipient, needed for getDetailsByRecipient.
    trace_id: Mapped[str | None] = mapped_column(sa.String(64))
    trace_detail_fetched: Mapped[bool] = mapped_column(default=False)

    message: Mapped[Message] = relationship(back_populates="recipients")
