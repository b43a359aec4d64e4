"""An active image's copies in several stores, as the database records them: the copy lease a
``copy-image`` import holds, the location each copy adds, and the removal of one copy
(``DELETE /v2/stores/{store}/{image}``).

An active image has no upload, so its ``upload_expires_at`` is free: a copy-image import takes
it as its lease, and the image's ``os_glance_import_task`` property names the import that holds
it. One copy at a time, as in Glance; a copy renews the lease while it reads and writes, and
adds each copy's location only while it holds it. A removal takes the image's row lock and is
refused while a copy runs, so the two never interleave. A copy whose worker died stops renewing;
once its lease expired the reaper (``imgreg.maintenance.recovery``) releases it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Row, delete, exists, false, func, insert, select, update
from sqlalchemy.orm import Session

from imgreg.db import children
from imgreg.db.models import ImageRow, LocationRow, PropertyRow
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.image import IMPORT_TASK, utcnow

_NEXT = ImageRow.revision + 1  # what changes the image's record changes its revision


def in_progress(image_id: str) -> errors.Conflict:
    return errors.Conflict(
        f"New operation on image '{image_id}' is not permitted as prior operation is still in "
        "progress"
    )


def _held_by(task_id: str) -> Any:
    return exists().where(
        PropertyRow.image_id == ImageRow.id,
        PropertyRow.name == IMPORT_TASK,
        PropertyRow.value == task_id,
    )


def _locked_row(session: Session, image_id: str) -> Row[str, dt.datetime | None] | None:
    return session.execute(
        select(ImageRow.status, ImageRow.upload_expires_at)
        .where(ImageRow.id == image_id, ImageRow.deleted == false())
        .with_for_update()
    ).first()


def take_lease(db: Database, image_id: str, lease: dt.timedelta) -> None:
    """Take the copy lease of the active ``image_id``: 409 if it is not active or a copy
    (or an upload) holds it; 404 if it is gone."""
    with db.write() as session:
        row = _locked_row(session, image_id)
        if row is None:
            raise errors.NotFound(f"No image found with ID {image_id}")
        if row.status != "active":
            raise errors.Conflict("Only images with status active can be targeted for copying")
        if row.upload_expires_at is not None:
            raise in_progress(image_id)
        session.execute(
            update(ImageRow)
            .where(ImageRow.id == image_id)
            .values(upload_expires_at=utcnow() + lease, updated_at=utcnow(), revision=_NEXT)
        )


def renew_lease(db: Database, image_id: str, task_id: str, lease: dt.timedelta) -> None:
    """Extend the lease the copy ``task_id`` holds; ``StaleState`` when it no longer holds it
    (the reaper released it, the image was deleted or deactivated): the copy must stop."""
    stmt = (
        update(ImageRow)
        .where(
            ImageRow.id == image_id,
            ImageRow.deleted == false(),
            ImageRow.status == "active",
            ImageRow.upload_expires_at.is_not(None),
            _held_by(task_id),
        )
        .values(upload_expires_at=utcnow() + lease)
    )
    with db.write() as session:
        if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
            raise errors.StaleState(f"The copy of image {image_id} no longer holds its lease")


def drop_lease(db: Database, image_id: str, task_id: str | None = None) -> None:
    """End the copy lease (of ``task_id``, when given)."""
    stmt = update(ImageRow).where(ImageRow.id == image_id, ImageRow.upload_expires_at.is_not(None))
    if task_id is not None:
        stmt = stmt.where(_held_by(task_id))
    with db.write() as session:
        session.execute(stmt.values(upload_expires_at=None, updated_at=utcnow(), revision=_NEXT))


def attach(db: Database, image_id: str, task_id: str, url: str, store_id: str) -> None:
    """Record the copy at ``url`` as a location of the image, if the copy ``task_id`` still
    holds its lease (``StaleState`` otherwise: the caller removes the copy)."""
    now = utcnow()
    with db.write() as session:
        held = session.execute(
            select(ImageRow.id)
            .where(
                ImageRow.id == image_id,
                ImageRow.deleted == false(),
                ImageRow.status == "active",
                ImageRow.upload_expires_at >= now,
                _held_by(task_id),
            )
            .with_for_update()
        ).first()
        if held is None:
            raise errors.StaleState(f"The copy of image {image_id} no longer holds its lease")
        row = {"image_id": image_id, "url": url, "meta_data": _meta(store_id)}
        session.execute(insert(children.LOCATIONS), [row])
        session.execute(
            update(ImageRow).where(ImageRow.id == image_id).values(updated_at=now, revision=_NEXT)
        )


def detach(db: Database, image_id: str, url: str) -> None:
    """Forget a copy this import attached (an ``all_stores_must_succeed`` import undoing
    its copies); the others stay."""
    with db.write() as session:
        session.execute(
            delete(LocationRow).where(LocationRow.image_id == image_id, LocationRow.url == url)
        )
        session.execute(update(ImageRow).where(ImageRow.id == image_id).values(revision=_NEXT))


def remove(db: Database, image_id: str, url: str) -> None:
    """Remove the location ``url`` of the active ``image_id`` (its blob is the caller's to
    delete after): 409 while it is not active or a copy runs, 403 for its last location."""
    with db.write() as session:
        row = _locked_row(session, image_id)
        if row is None:
            raise errors.NotFound(f"Failed to find image {image_id}")
        if row.status != "active":
            raise errors.Conflict(
                "It's not allowed to remove image data from store if image status is not 'active'"
            )
        if row.upload_expires_at is not None:
            raise in_progress(image_id)
        count = session.scalar(select(func.count()).where(LocationRow.image_id == image_id))
        if count is not None and count <= 1:
            raise errors.Forbidden(
                "Cannot delete image data from the only store containing it. Consider "
                "deleting the image instead."
            )
        gone = session.execute(
            delete(LocationRow).where(LocationRow.image_id == image_id, LocationRow.url == url)
        )
        if gone.rowcount != 1:  # type: ignore[attr-defined]
            raise errors.NotFound(f"Image {image_id} has no location {url}")
        session.execute(
            update(ImageRow)
            .where(ImageRow.id == image_id)
            .values(updated_at=utcnow(), revision=_NEXT)
        )


def expired(db: Database, now: dt.datetime) -> list[str]:
    """Active images whose copy lease expired (the worker copying them went away)."""
    with db.read() as session:
        return list(
            session.scalars(
                select(ImageRow.id).where(
                    ImageRow.deleted == false(),
                    ImageRow.status == "active",
                    ImageRow.upload_expires_at < now,
                )
            )
        )


def reclaim(db: Database, image_id: str, now: dt.datetime) -> bool:
    """Drop an expired copy lease, if it is still expired; True when it was dropped."""
    with db.write() as session:
        result = session.execute(
            update(ImageRow)
            .where(
                ImageRow.id == image_id,
                ImageRow.deleted == false(),
                ImageRow.status == "active",
                ImageRow.upload_expires_at < now,
            )
            .values(upload_expires_at=None, updated_at=now, revision=_NEXT)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _meta(store_id: str) -> str:
    """As ``imgreg.db.children`` writes a location's metadata."""
    return json.dumps({"store": store_id}, sort_keys=True, separators=(",", ":"))
