"""``os_hidden`` in every list index, after ``deleted``: ``(deleted, os_hidden, key,
created_at, id)``.

Every image list matches ``os_hidden`` exactly (``false`` unless the caller asks for
``os_hidden=true``, ``imgreg.db.query``), as it matches ``deleted``; so with ``os_hidden`` in
the index's equality prefix a list of hidden images is a walk of their own range in any
order, as a list of visible ones is. Before, a page of ``os_hidden=true`` walked the visible
and the hidden images alike and threw the visible away: 25 / 2 % = 1,250 rows read for a page
of the catalog of ``tools/bench --catalog``, 1,474-1,795 for page 1 and 41 at 50,000 images.

Each index of 0001 and 0012 that a list walks is replaced by one named for what it serves
(``ix_images_list_<key>``, the key after the prefix); the lists' ``FORCE INDEX`` on MariaDB
(``imgreg.db.keyset.walk_index``) names the new ones. On a big catalog this takes a while:
each index is built by reading the table once.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"

# the key each list index orders by after (deleted, os_hidden); the tie-breakers follow
KEYS = (
    "sort_name",
    "sort_container_format",
    "sort_disk_format",
    "sort_size",
    "status",
    "updated_at",
    "visibility",
)


def upgrade() -> None:
    op.create_index(
        "ix_images_list_created_at", "images", ["deleted", "os_hidden", "created_at", "id"]
    )
    op.drop_index("ix_images_deleted_created_at_id", "images")
    for key in KEYS:
        op.create_index(f"ix_images_list_{key}", "images",
                        ["deleted", "os_hidden", key, "created_at", "id"])  # fmt: skip
        op.drop_index(f"ix_images_deleted_{key}_created_at_id", "images")
