"""Writing converted Glance images into imgreg's database: each image compared with what is
there, and written (its row upserted, the rows it owns replaced) only when it differs, one
batch per transaction. A re-run therefore changes nothing that is already the same, and a run
killed mid-batch loses only that uncommitted batch, which the next run writes again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, delete, false, insert, select, update
from sqlalchemy.orm import Session

from imgreg import faults
from imgreg.db.models import ImageRow, LocationRow, MemberRow, PropertyRow, TagRow
from imgreg.db.session import Database
from imgreg.migrate.convert import Record

IMAGES = cast(Table, ImageRow.__table__)
PROPERTIES = cast(Table, PropertyRow.__table__)
TAGS = cast(Table, TagRow.__table__)
LOCATIONS = cast(Table, LocationRow.__table__)
MEMBERS = cast(Table, MemberRow.__table__)
# the columns a record carries: not the revision, nor the generated sort_* ones (migration 0012)
FIELDS = [c.name for c in IMAGES.columns if c.name != "revision" and c.computed is None]


def existing(session: Session, ids: list[str]) -> dict[str, tuple[Record, int]]:
    """What imgreg holds for ``ids`` now, as records (and each image's revision)."""
    found: dict[str, tuple[Record, int]] = {}
    for row in session.execute(select(IMAGES).where(IMAGES.c.id.in_(ids))).mappings():
        image = {name: row[name] for name in FIELDS}
        found[row["id"]] = (Record(image, {}, [], {}, []), row["revision"])
    if not found:
        return found
    keys = list(found)
    for image_id, name, value in session.execute(
        select(PROPERTIES.c.image_id, PROPERTIES.c.name, PROPERTIES.c.value).where(
            PROPERTIES.c.image_id.in_(keys)
        )
    ):
        found[image_id][0].properties[name] = value
    for image_id, value in session.execute(
        select(TAGS.c.image_id, TAGS.c.value).where(TAGS.c.image_id.in_(keys))
    ):
        found[image_id][0].tags.append(value)
    for member in session.execute(
        select(MEMBERS).where(MEMBERS.c.image_id.in_(keys), MEMBERS.c.deleted == false())
    ).mappings():
        found[member["image_id"]][0].members[member["member"]] = {
            "status": member["status"],
            "created_at": member["created_at"],
            "updated_at": member["updated_at"],
        }
    for image_id, url, meta in session.execute(
        select(LOCATIONS.c.image_id, LOCATIONS.c.url, LOCATIONS.c.meta_data)
        .where(LOCATIONS.c.image_id.in_(keys))
        .order_by(LOCATIONS.c.id)
    ):
        found[image_id][0].locations.append((url, meta))
    return found


def write_batch(db: Database, records: list[Record], first: bool = True) -> tuple[int, int, int]:
    """Write what differs: (created, updated, unchanged). ``first``: the run's first batch."""
    created = updated = unchanged = 0
    with db.write() as session:
        have = existing(session, [r.image["id"] for r in records])
        for record in records:
            image_id = record.image["id"]
            old = have.get(image_id)
            if old is not None and _same(old[0], record):
                unchanged += 1
                continue
            if old is None:
                session.execute(insert(IMAGES), [{**record.image, "revision": 1}])
                created += 1
            else:
                session.execute(
                    update(IMAGES)
                    .where(IMAGES.c.id == image_id)
                    .values(**record.image, revision=old[1] + 1)
                )
                for table in (PROPERTIES, TAGS, LOCATIONS, MEMBERS):
                    session.execute(delete(table).where(table.c.image_id == image_id))
                updated += 1
            _insert_children(session, record)
        if not first:
            faults.hit("import_glance_before_commit")
    return created, updated, unchanged


def _same(old: Record, new: Record) -> bool:
    return _normal(old) == _normal(new)


def _normal(record: Record) -> tuple[Any, ...]:
    """``record`` as compared: booleans as booleans, times to the second (MariaDB keeps no
    fraction), metadata as parsed JSON."""
    image = {k: _second(v) for k, v in record.image.items()}
    image["protected"] = bool(image["protected"])
    image["os_hidden"] = bool(image["os_hidden"])
    image["deleted"] = bool(image["deleted"])
    locations = [(url, _json(meta)) for url, meta in record.locations]
    members = {m: {k: _second(v) for k, v in row.items()} for m, row in record.members.items()}
    return (image, record.properties, sorted(record.tags), members, locations)


def _second(value: Any) -> Any:
    return value.replace(microsecond=0) if isinstance(value, dt.datetime) else value


def _json(text: str | None) -> Any:
    return json.loads(text) if text else {}


def _insert_children(session: Session, record: Record) -> None:
    image_id = record.image["id"]
    _insert(
        session,
        PROPERTIES,
        (
            {"image_id": image_id, "name": k, "value": v}
            for k, v in sorted(record.properties.items())
        ),
    )
    _insert(session, TAGS, ({"image_id": image_id, "value": t} for t in record.tags))
    _insert(
        session,
        MEMBERS,
        (
            {"image_id": image_id, "member": name, "deleted": False, **row}
            for name, row in sorted(record.members.items())
        ),
    )
    _insert(
        session,
        LOCATIONS,
        ({"image_id": image_id, "url": url, "meta_data": meta} for url, meta in record.locations),
    )


def _insert(session: Session, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        session.execute(insert(table), batch)
