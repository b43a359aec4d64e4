"""Indexes for the lookup branches of a project's image list (``imgreg.db.query``).

A non-admin list (the default, ``visibility=all`` or ``visibility=shared``) is the UNION of a
walk of the public images and two lookups: the project's own images, and those shared with
it. Each lookup reads only its own rows when one index holds every column it matches on:

* ``images (owner, visibility)`` in place of ``(owner)``: ``visibility=shared`` looks up the
  project's own shared images, which ``(owner)`` alone could find only by reading all of the
  project's images (or, as PostgreSQL planned it, ANDed with a bitmap of every shared image);
  ``(owner)`` queries (the quota sums) use its prefix.
* ``images (visibility)`` goes: every list matches ``deleted`` too, so ``(deleted,
  visibility, created_at, id)`` (0012) serves a visibility filter, and PostgreSQL ANDed the
  bitmap of every public image with a sort index's range instead of walking the latter
  (6,188 index entries for page 41 of a project's ``sort=disk_format:desc``).
* ``image_members (member, deleted, status, image_id)`` in place of ``(member)``: the ids of
  the images shared with a project, answered ``member_status``, read from the index alone.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.create_index("ix_images_owner_visibility", "images", ["owner", "visibility"])
    op.drop_index("ix_images_owner", "images")
    op.drop_index("ix_images_visibility", "images")
    op.create_index(
        "ix_image_members_member_deleted_status_image_id",
        "image_members",
        ["member", "deleted", "status", "image_id"],
    )
    op.drop_index("ix_image_members_member", "image_members")
