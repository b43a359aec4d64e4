"""Add images.crc32: a fast checksum of the data, verified on every full download.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("images", sa.Column("crc32", sa.BigInteger()))
