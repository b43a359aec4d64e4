"""Indexes for ``GET /v2/images`` filters that had none.

* ``checksum`` and ``os_hash_value``: exact-match lookups ("is this image already here?") are
  selective, and without an index a miss scans every row.
* ``(deleted, updated_at, id)``: ``updated_at`` range filters and ``sort_key=updated_at``, the
  twin of ``(deleted, created_at, id)`` that serves the default order.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_index("ix_images_checksum", "images", ["checksum"])
    op.create_index("ix_images_os_hash_value", "images", ["os_hash_value"])
    op.create_index("ix_images_deleted_updated_at_id", "images", ["deleted", "updated_at", "id"])
