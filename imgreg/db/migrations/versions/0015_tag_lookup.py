"""``image_tags (value, image_id)`` in place of ``(value)``: a list filtered by a tag first
counts the tag's images, up to 1,001 (``imgreg.db.probes.rare_filter``), ``ORDER BY
image_id`` so that the count is a walk of this index stopping at the limit. On ``(value)``
PostgreSQL counted through a bitmap of every entry of the tag (1,474 at 50,000 images, 30,000
at a million) before it stopped at 1,001. The ids of a rare tag's images, which drive its list,
are read from the index alone.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_index("ix_image_tags_value_image_id", "image_tags", ["value", "image_id"])
    op.drop_index("ix_image_tags_value", "image_tags")
