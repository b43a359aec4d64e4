"""The queries of the reaper and the invariant check (``imgreg.maintenance.recovery``,
``imgreg.maintenance.invariants``): uploads whose lease expired, the blobs rows point at, images
that hold data. Not part of the request path; no layer sees these.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator

from sqlalchemy import ColumnElement, delete, false, or_, select, update

from imgreg.db.models import ImageRow, LocationRow
from imgreg.db.session import Database
from imgreg.domain.image import DATA_FIELDS, HELD, utcnow


@dataclasses.dataclass(frozen=True)
class DataRow:
    """What an image with data says about its blob."""

    id: str
    status: str
    size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    crc32: int | None
    data_sha256: str | None
    locations: tuple[str, ...]


def _lease_expired(now: dt.datetime) -> ColumnElement[bool]:
    """An image whose upload, stage or import no longer holds its lease: ``saving`` with an
    expired lease or none at all (a row written before leases existed); ``uploading`` or
    ``importing`` with an expired one (a staged image waiting for its import has none)."""
    return (ImageRow.deleted == false()) & or_(
        (ImageRow.status == "saving")
        & or_(ImageRow.upload_expires_at.is_(None), ImageRow.upload_expires_at < now),
        ImageRow.status.in_(("uploading", "importing")) & (ImageRow.upload_expires_at < now),
    )


def expired_holds(db: Database, now: dt.datetime) -> list[tuple[str, str]]:
    """(id, status) of each image held past its lease (``_lease_expired``): what the reaper
    takes back, and what ``imgreg-manage check`` reports."""
    with db.read() as session:
        rows = session.execute(select(ImageRow.id, ImageRow.status).where(_lease_expired(now)))
        return [(row.id, row.status) for row in rows]


def reclaim_upload(db: Database, image_id: str, now: dt.datetime) -> bool:
    """Put one expired upload's image back to ``queued`` with no data, if its lease is still
    expired (a renewal that came in meanwhile wins). True when it was taken back. The row keeps
    an ``upload_expires_at`` (now): a queued image's says when its last upload ended, which
    ``orphan_blob`` reads."""
    cleared = dict.fromkeys(DATA_FIELDS)
    with db.write() as session:
        result = session.execute(
            update(ImageRow)
            .where(ImageRow.id == image_id, _lease_expired(now))
            .values(
                status="queued",
                upload_expires_at=now,
                reserved_bytes=None,
                updated_at=now,
                revision=ImageRow.revision + 1,
                **cleared,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        session.execute(delete(LocationRow).where(LocationRow.image_id == image_id))
    return True


def live_uploads(db: Database, now: dt.datetime) -> set[str]:
    """Images whose upload (stage, import, copy to another store) holds its lease: their
    blob or partial file may exist already."""
    with db.read() as session:
        return set(
            session.scalars(
                select(ImageRow.id).where(
                    # HELD, or active with a copy running (imgreg.db.copies)
                    ImageRow.status.in_((*HELD, "active")),
                    ImageRow.deleted == false(),
                    ImageRow.upload_expires_at >= now,
                )
            )
        )


@contextlib.contextmanager
def orphan_blob(
    db: Database,
    url: str,
    image_id: str,
    settled: dt.datetime,
    reclaimed: set[str],
    settled_queued: dt.datetime | None = None,
) -> Iterator[bool | None]:
    """Judge one blob the reaper found unowned again, on committed state, with the image's row
    locked until the block ends (the caller deletes the blob inside it): an upload of that image
    cannot start, and so cannot rename a new blob to the same name, while it is deleted. Yields
    True when the blob is an orphan: no row, or a row that does not point at it, holds no live
    lease, and is settled: last changed before ``settled`` (an age margin for clocks and
    replicas), or taken back to ``queued`` by this very sweep (``reclaimed``). A blob named by a
    ``queued`` image not reclaimed now may be data someone is about to register as its location
    (Nova's direct snapshot clones and flattens a disk into the store under the image's id
    before it adds the location, which takes minutes): it is settled only when the row was
    last changed before ``settled_queued`` (default: ``settled``). Unless the queued row says
    an upload of its own ended (``upload_expires_at``: taken back by a sweep, or failed): the
    blob is then that upload's, whose removal failed, settled as any other.

    Yields None when no image row has the blob's id at all: imgreg makes a row before any data,
    and only purges rows of images whose data is gone, so that blob is not one imgreg wrote
    (another service's on a shared store: a Glance still running beside an imgreg that adopted
    its store with ``import-glance``). It is never an orphan; ``imgreg-manage check`` lists it."""
    with db.write() as session:
        row = session.execute(
            select(ImageRow.status, ImageRow.upload_expires_at, ImageRow.updated_at)
            .where(ImageRow.id == image_id)
            .with_for_update()
        ).first()
        if row is None:
            yield None
            return
        now = utcnow()
        owned = session.scalar(
            select(LocationRow.id).where(LocationRow.image_id == image_id, LocationRow.url == url)
        )
        live = (
            row.status in (*HELD, "active")
            and row.upload_expires_at is not None
            and row.upload_expires_at >= now
        )
        if image_id in reclaimed and row.status in ("queued", "active"):
            settled_row = True  # this sweep took it back from a dead upload or copy
        elif row.status == "queued" and row.upload_expires_at is None:
            settled_row = row.updated_at < (settled_queued or settled)
        else:
            settled_row = row.updated_at < settled
        yield owned is None and not live and settled_row


def owned_urls(db: Database) -> set[str]:
    """Every blob URL a row points at: live images, and ``pending_delete`` ones whose data
    waits for the scrubber (a deleted image's locations are removed with it)."""
    with db.read() as session:
        return set(session.scalars(select(LocationRow.url)))


def images_with_data(db: Database) -> list[DataRow]:
    """Live images that must have verified blobs (active or deactivated: one, or one per
    store with several stores), and ``queued`` ones that must have none."""
    with db.read() as session:
        rows = session.scalars(
            select(ImageRow)
            .where(
                ImageRow.deleted == false(),
                ImageRow.status.in_(("active", "deactivated", "queued")),
            )
            .order_by(ImageRow.id)
        )
        return [
            DataRow(
                id=row.id,
                status=row.status,
                size=row.size,
                checksum=row.checksum,
                os_hash_algo=row.os_hash_algo,
                os_hash_value=row.os_hash_value,
                crc32=row.crc32,
                data_sha256=row.data_sha256,
                locations=tuple(loc.url for loc in sorted(row.locations, key=lambda r: r.id)),
            )
            for row in rows
        ]
