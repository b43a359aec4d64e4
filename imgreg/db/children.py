"""The rows an image owns besides its own: properties, tags, locations, and how a save writes
them so that requests that overlap cannot collide.

A save writes the difference between the image as it was loaded and as it is now. Two requests
that both loaded the image before either saved both see a new property or tag as *added*; a
plain INSERT would then make the second one fail on the primary key (a 500) and roll back the
whole PATCH. So properties are written with the dialect's insert-or-update (``ON CONFLICT DO
UPDATE`` on PostgreSQL and SQLite, ``ON DUPLICATE KEY UPDATE`` on MariaDB/MySQL) and tags with
insert-or-keep: the last writer's value wins, and a removal of something already gone removes
nothing. Concurrent saves of one image also queue on its ``images`` row, which each one
updates first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, Insert, Table, delete, insert
from sqlalchemy.dialects import mysql, postgresql, sqlite

from imgreg.db.models import LocationRow, PropertyRow, TagRow
from imgreg.domain.image import Changes, Image

PROPERTIES = cast(Table, PropertyRow.__table__)
TAGS = cast(Table, TagRow.__table__)
LOCATIONS = cast(Table, LocationRow.__table__)


def stored_value(value: str | None) -> str:
    """A property the schema lets be null (``ramdisk_id: null``) is kept as ``""``, which is
    how Glance shows a null property."""
    return "" if value is None else value


def property_rows(image: Image, names: Iterable[str]) -> list[dict[str, str]]:
    props = image.extra_properties
    return [
        {"image_id": image.id, "name": k, "value": stored_value(props[k])} for k in sorted(names)
    ]


def tag_rows(image_id: str, tags: Iterable[str]) -> list[dict[str, str]]:
    return [{"image_id": image_id, "value": t} for t in sorted(tags)]


def location_rows(image: Image) -> list[dict[str, str | None]]:
    return [
        {"image_id": image.id, "url": url, "meta_data": _metadata_text(image.metadata_of(url))}
        for url in image.locations  # in order
    ]


def _metadata_text(metadata: dict[str, Any]) -> str | None:
    return json.dumps(metadata, sort_keys=True, separators=(",", ":")) if metadata else None


def metadata_by_url(rows: Iterable[tuple[str, str | None]]) -> dict[str, dict[str, Any]]:
    """The ``location_metadata`` of an image from its (url, meta_data) rows."""
    found = {}
    for url, text in rows:
        if text:
            value = json.loads(text)
            if isinstance(value, dict) and value:
                found[url] = value
    return found


def _upsert(dialect: str, table: Table, update: str | None) -> Insert:
    """INSERT that, on its primary key's conflict, sets column ``update`` from the new row
    (None: keeps the row there)."""
    keys = [c.name for c in table.primary_key]
    if dialect == "mysql":
        stmt: Any = mysql.insert(table)
        # MariaDB has no DO NOTHING; setting a key column to itself changes nothing (and,
        # unlike INSERT IGNORE, hides no other error)
        column = update or keys[-1]  # the last: not the foreign key image_id
        return cast(Insert, stmt.on_duplicate_key_update({column: stmt.inserted[column]}))
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    if update is None:
        return cast(Insert, stmt.on_conflict_do_nothing(index_elements=keys))
    return cast(
        Insert,
        stmt.on_conflict_do_update(index_elements=keys, set_={update: stmt.excluded[update]}),
    )


# Built once per dialect: constructing a statement cost about as much as running it.
_STATEMENTS: dict[str, tuple[Insert, Insert]] = {}


def _statements(dialect: str) -> tuple[Insert, Insert]:
    """(property upsert, tag insert-or-keep) for the dialect."""
    found = _STATEMENTS.get(dialect)
    if found is None:
        found = _STATEMENTS[dialect] = (
            _upsert(dialect, PROPERTIES, "value"),
            _upsert(dialect, TAGS, None),
        )
    return found


def write_changes(conn: Connection, image: Image, changes: Changes) -> None:
    """Write the image's property, tag and location changes (in the caller's transaction)."""
    upsert_property, keep_tag = _statements(conn.dialect.name)
    if changes.removed:
        conn.execute(
            delete(PROPERTIES).where(
                PROPERTIES.c.image_id == image.id, PROPERTIES.c.name.in_(changes.removed)
            )
        )
    if written := changes.added | changes.updated:
        conn.execute(upsert_property, property_rows(image, written))
    if changes.tags_removed:
        conn.execute(
            delete(TAGS).where(TAGS.c.image_id == image.id, TAGS.c.value.in_(changes.tags_removed))
        )
    if changes.tags_added:
        conn.execute(keep_tag, tag_rows(image.id, changes.tags_added))
    if changes.locations_changed:
        conn.execute(delete(LOCATIONS).where(LOCATIONS.c.image_id == image.id))
        if image.locations:
            conn.execute(insert(LOCATIONS), location_rows(image))
