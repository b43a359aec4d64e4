"""Quota reservations: ``images.reserved_bytes`` and the ``quota_locks`` table.

An upload reserves storage quota in the database before the bytes it covers are written:
``reserved_bytes`` holds what the upload of a ``saving`` image has reserved; it is cleared in
the same statement that records the image's final ``size`` (or takes it back to ``queued``).
An owner's usage is therefore ``sum(size) + sum(reserved_bytes)`` over their live images, and
``quota_locks`` has one row per owner that serializes the decisions on it across workers.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("images", sa.Column("reserved_bytes", sa.BigInteger()))
    op.create_table(
        "quota_locks",
        sa.Column("owner", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_quota_locks"),
    )
