"""delivery per recipient: message trace polling, its budget, delivery report scanning

Revision ID: i4b
Revises: 0001
Create Date: 2026-12-04 23:10:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import mailgrip.db


# revision identifiers, used by Alembic.
revision = 'i4b'
down_revision = "i6a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('trace_budget_slot',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('used_at', mailgrip.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'slot', name=op.f('pk_trace_budget_slot'))
    )
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reports_scanned_through', mailgrip.db.UTCDateTime(), nullable=True))

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trace_poll_after', mailgrip.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('trace_poll_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_message_trace_poll_after'), ['trace_poll_after'], unique=False)

    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_source', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('trace_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('trace_detail_fetched', sa.Boolean(), nullable=False, server_default=sa.false()))

    # The server defaults only fill existing rows; the models set these columns themselves.
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.alter_column('trace_poll_attempts', server_default=None)
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.alter_column('trace_detail_fetched', server_default=None)

    # Messages mirrored before this revision are traced once too; the poll drops those older
    # than MAILGRIP_TRACE_MAX_AGE_HOURS. UTCDateTime stores naive UTC.
    message = sa.table('message', sa.column('trace_poll_after', sa.DateTime()))
    op.execute(message.update().values(trace_poll_after=datetime.now(UTC).replace(tzinfo=None)))


def downgrade():
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.drop_column('trace_detail_fetched')
        batch_op.drop_column('trace_id')
        batch_op.drop_column('delivery_source')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_trace_poll_after'))
        batch_op.drop_column('trace_poll_attempts')
        batch_op.drop_column('trace_poll_after')

    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.drop_column('reports_scanned_through')

    op.drop_table('trace_budget_slot')
