"""admin sessions

Revision ID: i3a
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

import mailgrip.db


# revision identifiers, used by Alembic.
revision = 'i3a'
down_revision = "i5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('created_at', mailgrip.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', mailgrip.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', mailgrip.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_admin_session_token_hash'))
    )
    with op.batch_alter_table('admin_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_session_object_id'), ['object_id'], unique=False)


def downgrade():
    with op.batch_alter_table('admin_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_session_object_id'))

    op.drop_table('admin_session')
