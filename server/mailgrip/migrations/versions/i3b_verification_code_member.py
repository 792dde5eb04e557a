"""verification codes for members of distribution lists

Revision ID: i3b
Revises: 0001
Create Date: 2026-12-04 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i3b'
down_revision = "i4b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_key', sa.String(length=320), nullable=True))


def downgrade():
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.drop_column('member_key')
