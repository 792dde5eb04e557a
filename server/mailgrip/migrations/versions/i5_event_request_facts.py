"""Keep the facts each event's label was made from, so later evidence can weigh them again

Revision ID: i5
Revises: 0001
Create Date: 2026-12-04 22:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i5'
down_revision = "i3b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_facts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('request_facts')
