"""Add images.revision: a counter every change of the image's record increments.

It is the image's ``ETag`` (``GET /v2/images/{id}``) and what ``If-Match`` is compared with:
a save guarded by it is one conditional UPDATE (``… WHERE revision = :seen``), so two writers
holding the same ETag cannot both win. A counter, not a hash of the record: a hash repeats
when a record returns to an earlier state, and comparing one would need the row read and
locked before the write. Existing rows start at 1.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.add_column(
        "images", sa.Column("revision", sa.BigInteger(), nullable=False, server_default="1")
    )
