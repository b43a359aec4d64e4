"""``SqlImageRepo``: the innermost layer. Maps rows to domain ``Image`` objects and back.

Every method is one short transaction. ``save(image, from_state=…)`` is a compare-and-swap on
the status column, so two workers racing over one image cannot both win.

``begin_upload`` moves an image queued → saving, taking the upload lease
(``upload_expires_at``), and returns the upload's ``SqlUploadLedger``, which renews the lease
while the data arrives and reserves storage; leaving ``saving`` drops both.
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any, NoReturn, cast

from oslo_config import cfg
from sqlalchemy import Connection, Table, bindparam, delete, false, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imgreg.db import children, session_holds, usage
from imgreg.db.ledger import SqlUploadLedger
from imgreg.db.loading import COLUMN_NAMES, load_image, load_images
from imgreg.db.models import ImageRow, LocationRow, MemberRow
from imgreg.db.probes import rare_filter
from imgreg.db.query import build_select, readable_clause
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.image import HELD, Image, stale_message, utcnow
from imgreg.domain.query import ListQuery

COLUMNS = COLUMN_NAMES[1:]  # every column of an Image but its id


def to_domain(row: ImageRow) -> Image:
    image = Image(
        id=row.id,
        **{name: getattr(row, name) for name in COLUMNS},
        tags={t.value for t in row.tags},
        extra_properties={p.name: p.value for p in row.properties},
        locations=[loc.url for loc in sorted(row.locations, key=lambda r: r.id)],
        location_metadata=children.metadata_by_url(
            (loc.url, loc.meta_data) for loc in row.locations
        ),
    )
    image.mark_clean()
    return image


# Statements of the hot write paths, built once (building one cost about as much as running
# it). Executed with parameters, an UPDATE without values() sets the columns named by them.
_IMAGES = cast(Table, ImageRow.__table__)
# Every write of a record increments its revision (its ETag); ``_AT_REVISION`` is the
# ``If-Match`` guard, checked in the same statement as the write.
_LIVE = (_IMAGES.c.id == bindparam("_id")) & (_IMAGES.c.deleted == false())
_UPDATE = update(_IMAGES).where(_LIVE).values(revision=_IMAGES.c.revision + 1)
_FROM_STATE = _IMAGES.c.status == bindparam("_from_state")
_AT_REVISION = _IMAGES.c.revision == bindparam("_revision")
_GUARDED = {
    (False, False): _UPDATE,
    (True, False): _UPDATE.where(_FROM_STATE),
    (False, True): _UPDATE.where(_AT_REVISION),
    (True, True): _UPDATE.where(_FROM_STATE, _AT_REVISION),
}
# Where UPDATE … RETURNING exists (PostgreSQL, SQLite), the new revision comes back with the
# write; MariaDB has none: read back in the same transaction (the row is still ours).
_RETURNING = {key: stmt.returning(_IMAGES.c.revision) for key, stmt in _GUARDED.items()}
_EXISTS = select(_IMAGES.c.id).where(_LIVE)
_REVISION = select(_IMAGES.c.revision).where(_IMAGES.c.id == bindparam("_id"))
_LOCATIONS = children.LOCATIONS
_MEMBER_STATUS = select(MemberRow.status).where(
    MemberRow.image_id == bindparam("image_id"),
    MemberRow.member == bindparam("member"),
    MemberRow.deleted == false(),
)


def _write(conn: Connection, guards: tuple[bool, bool], params: dict[str, Any]) -> int | None:
    """Run the UPDATE guarded by ``guards`` (from_state, revision): the record's new revision,
    or None when no row matched."""
    if conn.dialect.update_returning:
        return cast("int | None", conn.scalar(_RETURNING[guards], params))
    if conn.execute(_GUARDED[guards], params).rowcount != 1:
        return None
    expected = params.get("_revision")
    if expected is not None:
        return int(expected) + 1
    return cast("int | None", conn.scalar(_REVISION, params))


DEFAULT_LEASE = dt.timedelta(seconds=60)


def upload_lease(conf: cfg.ConfigOpts) -> dt.timedelta:
    return dt.timedelta(seconds=conf.upload_lease_seconds)


def _ended(status: str, before: str | None, now: dt.datetime) -> dt.datetime | None:
    """``upload_expires_at`` of an image leaving a held status: an upload that ended back in
    ``queued`` leaves when it ended (its blob, if one is left, is the reaper's to remove once
    settled: ``imgreg.db.maintenance.orphan_blob``); any other status has none."""
    return now if status == "queued" and before in HELD else None


class SqlImageRepo:
    def __init__(self, db: Database, upload_lease: dt.timedelta = DEFAULT_LEASE) -> None:
        self.db = db
        self.upload_lease = upload_lease

    def get(self, image_id: str) -> Image:
        with self.db.query() as conn:
            found = load_image(conn, image_id)
        if found is None:
            raise errors.NotFound(f"No image found with ID {image_id}")
        return found

    def list(self, query: ListQuery) -> list[Image]:
        with self.db.query() as conn:
            marker = None
            if query.marker_id is not None:
                # An image the caller may not see is refused like an unknown one (Glance says
                # 403 "not visible", which discloses that it exists).
                marker = conn.execute(
                    select(*ImageRow.__table__.c).where(
                        ImageRow.id == query.marker_id,
                        ImageRow.deleted == false(),
                        readable_clause(query.project_id, query.is_admin),
                    )
                ).first()  # a row: its sort columns are all the marker needs
                if marker is None:
                    raise errors.Invalid(
                        f"Invalid marker. Image {query.marker_id} could not be found."
                    )
            branched = conn.dialect.name != "sqlite"
            driver = rare_filter(conn, query) if branched else None
            stmt = build_select(query, marker, branched=branched, driver=driver)
            return load_images(conn, stmt)

    def add(self, image: Image, max_images: int | None = None) -> Image:
        """Insert the image; with ``max_images``, only while its owner has fewer live images
        than that (decided under the owner's quota lock, so concurrent creates cannot
        overshoot)."""
        with self.db.write() as session:
            if max_images is not None:
                usage.lock_owner(session, image.owner)
                count = usage.image_count(session, image.owner)
                if count >= max_images:
                    raise errors.QuotaExceeded(
                        f"Project {image.owner} is over a limit for image_count_total: "
                        f"limit {max_images}, current usage {count}, delta 1"
                    )
            # plain INSERTs: the ORM's unit of work cost more than the statements
            row = {"id": image.id, "deleted": False, **{n: getattr(image, n) for n in COLUMNS}}
            try:
                session.execute(insert(_IMAGES), row)
            except IntegrityError:  # only the id can collide: the rest of the rows are new
                raise errors.Conflict(f"Image ID {image.id} already exists!") from None
            if image.extra_properties:
                props = children.property_rows(image, image.extra_properties)
                session.execute(insert(children.PROPERTIES), props)
            if image.tags:
                session.execute(insert(children.TAGS), children.tag_rows(image.id, image.tags))
        image.mark_clean()
        return image

    def save(self, image: Image, from_state: str | None = None, settle: bool = False) -> Image:
        """Write what changed since the image was loaded, and nothing else.

        Only changed columns are written, so two requests that change different attributes
        never undo each other. A status change is a compare-and-swap on the status it was
        loaded with (or ``from_state``): losing that race raises ``StaleState``. Entering a
        ``HELD`` status takes the lease; leaving it, or ``settle`` (a stage that ends still
        ``uploading``), drops lease and reservation. After ``image.require_revision(n)``
        the write happens only while the record is still at revision ``n``
        (``PreconditionFailed`` otherwise). Every save increments the revision; the image
        comes back with the new one.
        """
        changes = image.changes()
        image.updated_at = utcnow()
        values = {n: getattr(image, n) for n in changes.fields}
        values["updated_at"] = image.updated_at
        if "status" in changes.fields or settle:
            held = image.status in HELD and not settle
            values["upload_expires_at"] = (
                utcnow() + self.upload_lease
                if held
                else _ended(image.status, changes.status_before, image.updated_at)
            )
            if not (held and changes.status_before == "queued"):
                values["reserved_bytes"] = None  # swapped for the final size in this statement
            # else an upload starts: it takes over a resumable session's hold on the queued
            # image, if any, as its reservation (imgreg.db.session_holds)
        if from_state is None and "status" in changes.fields:
            from_state = changes.status_before
        expected = image.expected_revision
        params = {**values, "_id": image.id}
        if from_state is not None:
            params["_from_state"] = from_state
        if expected is not None:
            params["_revision"] = expected
        with self.db.change() as conn:
            revision = _write(conn, (from_state is not None, expected is not None), params)
            if revision is None:
                self._lost(conn, image, from_state)
            children.write_changes(conn, image, changes)
        image.revision = int(revision)
        image.expected_revision = None
        image.mark_clean()
        return image

    def _lost(self, conn: Connection, image: Image, from_state: str | None) -> NoReturn:
        """Why a guarded write matched no row: the image is gone, or changed."""
        if self._exists(conn, image.id):
            if image.expected_revision is not None:
                raise errors.PreconditionFailed(stale_message(image.id))
            if from_state is not None:
                raise errors.StaleState(
                    f"Image {image.id} is no longer {from_state}; another request changed it"
                )
        raise errors.NotFound(f"No image found with ID {image.id}")

    def begin_upload(self, image: Image) -> SqlUploadLedger:
        """Save ``image``, already moved to a ``HELD`` status (``saving``, ``uploading`` or
        ``importing``) by the domain, if it is still in the status it was loaded with: a
        second upload, stage or import of the same image loses (409). The ledger starts with
        what a resumable session held on the queued image (``carried``)."""
        before = image.changes().status_before or "queued"
        try:
            self.save(image, from_state=before)
        except errors.StaleState:
            raise errors.Conflict(f"Image {image.id} is already being uploaded") from None
        held = session_holds.carried(self.db, image.id) if before == "queued" else 0
        return SqlUploadLedger(self, image, held)

    def hold_for_session(self, image: Image, nbytes: int, lease: float, quota: int = 0) -> None:
        """A resumable session's hold on the queued ``image`` (``imgreg.db.session_holds``)."""
        lease_td = dt.timedelta(seconds=lease)
        session_holds.take(self.db, image.id, image.owner, nbytes, quota, lease_td)

    def renew_session_hold(self, image_id: str, lease: float) -> None:
        session_holds.renew(self.db, image_id, dt.timedelta(seconds=lease))

    def release_session_hold(self, image_id: str) -> None:
        session_holds.release(self.db, image_id)

    def renew_upload_lease(self, image_id: str, status: str = "saving") -> None:
        """Extend the lease of the upload (stage, import) running for ``image_id`` while it is
        ``status``. ``NotFound`` when the image was deleted meanwhile, ``StaleState`` when it
        is no longer ``status`` (the reaper took it back after the lease expired): either way
        the upload must stop."""
        stmt = (
            update(ImageRow)
            .where(ImageRow.id == image_id, ImageRow.deleted == false(), ImageRow.status == status)
            .values(upload_expires_at=utcnow() + self.upload_lease)
        )
        with self.db.write() as session:
            if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
                if self._exists(session, image_id):
                    raise errors.StaleState(f"Image {image_id} is no longer {status}")
                raise errors.NotFound(f"No image found with ID {image_id}")

    def _exists(self, conn: Session | Connection, image_id: str) -> bool:
        return conn.scalar(_EXISTS, {"_id": image_id}) is not None

    def remove(self, image: Image) -> None:
        """Soft-delete: the row stays (its id is never reused). An image marked
        ``pending_delete`` keeps its locations for the scrubber; any other becomes ``deleted``."""
        status = "pending_delete" if image.status == "pending_delete" else "deleted"
        now = utcnow()
        expected = image.expected_revision
        with self.db.change() as conn:
            values = {"status": status, "deleted": True, "deleted_at": now, "updated_at": now}
            params = {**values, "_id": image.id}
            if expected is not None:
                params["_revision"] = expected
            if conn.execute(_GUARDED[False, expected is not None], params).rowcount != 1:
                if expected is not None and self._exists(conn, image.id):
                    raise errors.PreconditionFailed(stale_message(image.id))
                raise errors.NotFound(f"Failed to find image {image.id} to delete")
            if status == "deleted":
                conn.execute(delete(_LOCATIONS).where(_LOCATIONS.c.image_id == image.id))
        if status == "deleted":
            image.mark_deleted()  # pending_delete stays as it is until the scrubber's turn

    def pending_deletes(self, older_than: dt.datetime) -> builtins.list[Image]:
        """Images whose delayed delete is due (for the scrubber)."""
        with self.db.read() as session:
            rows = session.scalars(
                select(ImageRow).where(
                    ImageRow.status == "pending_delete", ImageRow.deleted_at <= older_than
                )
            )
            return [to_domain(row) for row in rows]

    def finish_delete(self, image: Image) -> None:
        with self.db.write() as session:
            session.execute(
                update(ImageRow)
                .where(ImageRow.id == image.id, ImageRow.status == "pending_delete")
                .values(status="deleted", updated_at=utcnow(), revision=ImageRow.revision + 1)
            )
            session.execute(delete(LocationRow).where(LocationRow.image_id == image.id))

    def member_status(self, image_id: str, member: str) -> str | None:
        # asked on every GET/PATCH of a shared image (the policy target): a plain connection,
        # not an ORM session
        with self.db.query() as conn:
            return conn.scalar(_MEMBER_STATUS, {"image_id": image_id, "member": member})

    def usage(self, owner: str | None) -> tuple[int, int]:
        """(bytes stored, live images) of one owner."""
        with self.db.read() as session:
            size, count = session.execute(
                select(func.coalesce(func.sum(ImageRow.size), 0), func.count()).where(
                    ImageRow.owner == owner, ImageRow.deleted == false()
                )
            ).one()
            return int(size or 0), int(count)

    def storage_used(self, owner: str | None) -> int:
        """Bytes held by the owner's live images and reserved by their running uploads (the
        ``user_storage_quota`` measure)."""
        with self.db.read() as session:
            return usage.storage_used(session, owner)

    def reserve_storage(
        self, image_id: str, owner: str | None, needed: int, wanted: int, quota: int
    ) -> tuple[int, int]:
        """Reserve for the upload running for ``image_id`` as much of ``owner``'s remaining
        ``quota`` as there is, up to ``wanted`` bytes, but only if at least ``needed`` remain.
        Returns (bytes reserved, bytes that remained): (0, remaining) when ``needed`` did not
        fit. ``NotFound``/``StaleState`` when the image is gone or no longer ``saving``."""
        with self.db.write() as session:
            usage.lock_owner(session, owner)
            remaining = max(0, quota - usage.storage_used(session, owner))
            if remaining < needed:
                return 0, remaining
            granted = min(wanted, remaining)
            if not usage.add_reservation(session, image_id, granted):
                if self._exists(session, image_id):
                    raise errors.StaleState(f"Image {image_id} is no longer saving")
                raise errors.NotFound(f"No image found with ID {image_id}")
            return granted, remaining
