"""Turning rows into ``Image`` objects with two plain queries, whatever the page size.

The ORM's per-relationship loading costs three extra queries and object bookkeeping for every
read; the hot paths (show, list) instead select the image columns, then every property, tag
and location of those images in one ``UNION ALL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Row,
    Select,
    bindparam,
    false,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from imgreg.db import children
from imgreg.db.models import ImageRow, LocationRow, PropertyRow, TagRow
from imgreg.domain.image import Image

COLUMN_NAMES = (
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "crc32",
    "data_sha256",
    "revision",
    "created_at",
    "updated_at",
)
IMAGE_COLUMNS = [ImageRow.__table__.c[name] for name in COLUMN_NAMES]
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
# Built once: constructing this statement per request cost more than running it.
_CHILDREN: CompoundSelect[Any] = union_all(
    select(
        PropertyRow.image_id, literal("p"), PropertyRow.name, PropertyRow.value, literal(0)
    ).where(PropertyRow.image_id.in_(_IDS)),
    select(TagRow.image_id, literal("t"), TagRow.value, null(), literal(0)).where(
        TagRow.image_id.in_(_IDS)
    ),
    select(
        LocationRow.image_id, literal("l"), LocationRow.url, LocationRow.meta_data, LocationRow.id
    ).where(LocationRow.image_id.in_(_IDS)),
)


# One live image by id (show, and the read before every PATCH, upload and delete).
_BY_ID: Select[Any] = select(*IMAGE_COLUMNS).where(
    ImageRow.id == bindparam("image_id"), ImageRow.deleted == false()
)


def load_image(conn: Connection, image_id: str) -> Image | None:
    """The live image ``image_id``, complete, or None."""
    found = _complete(conn, conn.execute(_BY_ID, {"image_id": image_id}).all())
    return found[0] if found else None


def load_images(session: Session | Connection, stmt: Select[Any]) -> list[Image]:
    """Run ``stmt`` (a select of ``IMAGE_COLUMNS``, with its filters, order and limit) and
    return complete images in the same order."""
    return _complete(session, session.execute(stmt).all())


def _complete(session: Session | Connection, rows: Sequence[Row[Any]]) -> list[Image]:
    """``Image`` objects of these image rows, with their properties, tags and locations."""
    if not rows:
        return []
    images = {row[0]: Image(**dict(zip(COLUMN_NAMES, row, strict=True))) for row in rows}
    ids = list(images)
    locations: list[tuple[int, str, str, str | None]] = []
    for image_id, kind, key, value, order in session.execute(_CHILDREN, {"ids": ids}):
        image = images[image_id]
        if kind == "p":
            image.extra_properties[key] = value
        elif kind == "t":
            image.tags.add(key)
        else:
            locations.append((order, image_id, key, value))
    for _order, image_id, url, meta in sorted(locations, key=lambda loc: loc[0]):
        images[image_id].locations.append(url)
        images[image_id].location_metadata.update(children.metadata_by_url([(url, meta)]))
    for image in images.values():
        image.mark_clean()
    return list(images.values())
