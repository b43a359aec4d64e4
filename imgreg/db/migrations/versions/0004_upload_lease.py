"""Add images.upload_expires_at: the lease of the upload running for a ``saving`` image.

Set when an upload moves the image queued → saving, renewed while its data arrives, cleared
when the image leaves ``saving``. A ``saving`` image whose lease has expired belongs to an
upload that died; the reaper (``imgreg.maintenance.recovery``) puts it back to ``queued``.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("images", sa.Column("upload_expires_at", sa.DateTime()))
