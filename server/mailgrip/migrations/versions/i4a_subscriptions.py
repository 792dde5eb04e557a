"""Change-notification subscriptions of mailboxes

Revision ID: i4a
Revises: 0001
Create Date: 2026-12-04 22:55:00

"""
from alembic import op
import sqlalchemy as sa

import mailgrip.db


revision = "i4a"
down_revision = "i3a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subscription_client_state_hash", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("subscription_error", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("last_notification_at", mailgrip.db.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_mailbox_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_subscription_id"))
        batch_op.drop_column("last_notification_at")
        batch_op.drop_column("subscription_error")
        batch_op.drop_column("subscription_client_state_hash")
