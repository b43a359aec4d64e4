"""``ix_images_status`` widened to ``(status, visibility, deleted, os_hidden, created_at, id)``:
one status of one visibility, newest first.

A project's ``status=deactivated`` list is the UNION of a walk of the public images and
lookups of its own and the shared ones (``imgreg.db.query``). No index held both the status
and the visibility. For the first page PostgreSQL ANDed a bitmap of every deactivated image
with the public ones (1,868 index entries at 50,000 images of ``tools/bench --catalog``, where
0.08 % are both) or with the project's own (19,689 entries at a million), then sorted; MariaDB
walked ``ix_images_list_created_at`` keeping 25 / 0.08 % of it (26,308 rows at a million).
With both in the index, and the two columns every list matches exactly after them, the public
walk reads the page. The status leads, so
what the one-column index served (the reaper's and the sweeps' ``status IN (…)``, which match
no ``deleted``) it still serves; it replaces that index rather than adding one, so a write
updates as many indexes as before (``docs/performance.md``, "Lists on a big catalog").

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.drop_index("ix_images_status", table_name="images")
    op.create_index(
        "ix_images_status_visibility",
        "images",
        ["status", "visibility", "deleted", "os_hidden", "created_at", "id"],
    )
