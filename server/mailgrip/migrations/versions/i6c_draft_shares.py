"""Mark draft shares, which alone may gain files through resumable uploads

Revision ID: i6c
Revises: i4a
Create Date: 2026-12-05 02:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "i6c"
down_revision = "i4a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("share", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("draft", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # A share made in one request has at least one file and no upload. Every other share was
    # created as a draft: it has uploads, or no file at all.
    op.execute(
        "UPDATE share SET draft = TRUE"
        " WHERE EXISTS (SELECT 1 FROM upload WHERE upload.share_id = share.id)"
        " OR NOT EXISTS (SELECT 1 FROM file WHERE file.share_id = share.id)"
    )


def downgrade():
    with op.batch_alter_table("share", schema=None) as batch_op:
        batch_op.drop_column("draft")
