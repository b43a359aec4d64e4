"""``(deleted, os_hidden, visibility, sort_name, created_at, id)``: one visibility's images in
name order.

A project's list is the UNION of a walk of the public images and lookups of its own and the
shared ones (``imgreg.db.query``). Sorted by name, the public walk went down ``(deleted,
os_hidden, sort_name, …)`` keeping the public 4 % of the catalog of ``tools/bench
--catalog``, and of those what a filter keeps: 25 / (4 % x 30 %) = 2,000-2,600 rows for a page
of ``disk_format=raw&sort=name:asc``, 4,500-6,200 for ``os_distro=ubuntu`` (12.5 %), at any
catalog size. With the visibility in the index the walk reads the public images only: 25 /
(the filter's share). Name is the one sort key with such an index, as the key clients sort by
(``openstack image list --sort name:asc``, glanceclient's ``--sort-key name``); a member's
list sorted by another key with a filter still walks that key's index keeping 4 % x the
filter's share (``docs/performance.md``, "Lists on a big catalog").

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.create_index(
        "ix_images_list_visibility_sort_name",
        "images",
        ["deleted", "os_hidden", "visibility", "sort_name", "created_at", "id"],
    )
