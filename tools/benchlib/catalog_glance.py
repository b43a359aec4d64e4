"""The catalog's rows in OpenStack Glance's tables (``tools/bench --catalog URL --schema glance``).

Glance 33's schema (what ``glance-manage db_sync`` creates) differs from imgreg's: ``images``
has no ``revision``; ``image_properties`` and ``image_tags`` rows carry an integer id (left to
the database) and their own ``created_at``/``updated_at``/``deleted_at``/``deleted``;
``image_members`` a ``can_share`` and a ``deleted_at``. The children of a deleted image are
deleted with it, as Glance's image delete leaves them. The same seeded catalog, so a Glance
and an imgreg loaded with the same N and seed hold the same images, properties, tags and
members.
"""

from __future__ import annotations

from typing import Any

from .catalog import IMAGE_COLUMNS as IMGREG_IMAGE_COLUMNS

SCHEMAS = ("imgreg", "glance")
# imgreg's columns but ``revision`` (Glance's images table has none), in the same order
IMAGE_COLUMNS = tuple(c for c in IMGREG_IMAGE_COLUMNS if c != "revision")
CHILD = ("created_at", "updated_at", "deleted_at", "deleted")
PROPERTY_COLUMNS = ("image_id", "name", "value", *CHILD)
TAG_COLUMNS = ("image_id", "value", *CHILD)
MEMBER_COLUMNS = ("image_id", "member", "status", "can_share", *CHILD)
COLUMNS = {
    "images": IMAGE_COLUMNS,
    "image_properties": PROPERTY_COLUMNS,
    "image_tags": TAG_COLUMNS,
    "image_members": MEMBER_COLUMNS,
}
_REVISION = 16  # the position of ``revision`` in catalog.IMAGE_COLUMNS


def glance_rows(chunk: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """One chunk of ``Catalog.chunks()`` (imgreg's columns) as rows of Glance's ``COLUMNS``."""
    times: dict[str, tuple[Any, ...]] = {}
    images = []
    for row in chunk["images"]:
        images.append(row[:_REVISION] + row[_REVISION + 1 :])
        created, updated, deleted, deleted_at = row[-4:]
        times[row[0]] = (created, updated, deleted_at, deleted)
    return {
        "images": images,
        "image_properties": [(i, n, v, *times[i]) for i, n, v in chunk["image_properties"]],
        "image_tags": [(i, v, *times[i]) for i, v in chunk["image_tags"]],
        "image_members": [
            (i, member, status, False, created, updated, *times[i][2:])
            for i, member, status, created, updated, _deleted in chunk["image_members"]
        ],
    }
