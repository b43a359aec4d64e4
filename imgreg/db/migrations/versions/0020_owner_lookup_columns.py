"""``ix_images_owner_visibility`` widened to ``(owner, visibility, deleted, os_hidden,
created_at, id)``: a project's own images, with what every list matches and its default order.

A project's list looks its own images up by ``(owner, visibility)`` (0014) and sorts the few
it finds. For a page after a marker that lookup is also "older than the marker"
(``imgreg.db.keyset``), and PostgreSQL planned it as a bitmap of the project's images ANDed
with a bitmap of the ``ix_images_list_created_at`` range older than the marker: 1,589 index
entries for page 41 of ``owner=`` at a million images of ``tools/bench --catalog`` (110 are the
project's). With the columns in the index the lookup's conditions are checked in the index
entries it reads, the project's own, and no other range is needed; one visibility of one
project (``visibility=shared``, ``visibility=private``) is now a range in list order. The
index replaces the two-column one: the quota's sums by owner use its prefix as before
(``docs/performance.md``, "Lists on a big catalog").

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.drop_index("ix_images_owner_visibility", table_name="images")
    op.create_index(
        "ix_images_owner_visibility",
        "images",
        ["owner", "visibility", "deleted", "os_hidden", "created_at", "id"],
    )
