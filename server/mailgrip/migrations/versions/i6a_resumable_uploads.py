"""resumable uploads into draft shares

Revision ID: i6a
Revises: 0001
Create Date: 2026-12-04 23:10:00

"""
from alembic import op
import sqlalchemy as sa

import mailgrip.db


# revision identifiers, used by Alembic.
revision = 'i6a'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('share_id', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mailgrip.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['file.id'], name=op.f('fk_upload_file_id_file')),
    sa.ForeignKeyConstraint(['share_id'], ['share.id'], name=op.f('fk_upload_share_id_share')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_upload_storage_key'))
    )
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_share_id'), ['share_id'], unique=False)


def downgrade():
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_share_id'))

    op.drop_table('upload')
