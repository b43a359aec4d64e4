"""Add images.data_sha256: the data's sha-256 (hex), computed on upload beside the multihash,
so that a download's ``Repr-Digest`` can carry ``sha-256`` (RFC 9530) as well as the
``sha-512`` of ``os_hash_value``. NULL for data stored before, or added by location.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.add_column("images", sa.Column("data_sha256", sa.String(64)))
