"""The hold a resumable upload session (``imgreg.api.resumable``) keeps on its ``queued``
image: ``reserved_bytes`` (the session's declared length, counted against the owner's
``user_storage_quota`` like an upload's reservation, ``imgreg.db.usage``) and
``upload_expires_at`` (the session's expiry, renewed by each chunk). A queued image has no
upload, so both columns are free until then (``upload_expires_at`` may say when an earlier
upload ended, which a hold replaces).

* One hold per image: a second session on an image whose hold is live is refused (409).
* Taking it decides under the owner's quota lock, as an upload's reservation does, so sessions
  opened at once on any number of workers never hold more than the quota.
* The final pass's upload takes the hold over: ``SqlImageRepo.begin_upload`` keeps
  ``reserved_bytes`` when the image leaves ``queued`` for ``saving`` (or ``uploading``) and
  the upload's reservation starts from it; leaving ``saving`` drops it, as any upload's.
* The session's end releases it (``release``); a session whose worker died, or that nobody
  finished, is released by the reaper once its expiry passed (``release_expired``).
* The database's times are whole seconds (``utcnow``; MySQL's DATETIME keeps no more), so the
  hold's lease runs ``LEASE_MARGIN`` longer than the session's expiry in the spool (a file's
  time, to the nanosecond): the spool always gives a session up first, and a session it still
  has always has its hold.

Nothing here changes the image's record as clients see it: no revision, no ``updated_at``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, false, select, update
from sqlalchemy.orm import Session

from imgreg.db import usage
from imgreg.db.models import ImageRow
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.image import utcnow

LEASE_MARGIN = dt.timedelta(seconds=2)


def _queued(image_id: str) -> list[ColumnElement[bool]]:
    return [ImageRow.id == image_id, ImageRow.deleted == false(), ImageRow.status == "queued"]


def _expired(now: dt.datetime) -> ColumnElement[bool]:
    return ImageRow.reserved_bytes.is_not(None) & (
        ImageRow.upload_expires_at.is_(None) | (ImageRow.upload_expires_at <= now)
    )


def over_quota(remaining: int) -> errors.QuotaExceeded:
    return errors.QuotaExceeded(
        "Image exceeds the storage quota: The size of the data will exceed the limit. "
        f"{remaining} bytes remaining."
    )


def take(
    db: Database, image_id: str, owner: str | None, nbytes: int, quota: int, lease: dt.timedelta
) -> None:
    """Hold ``nbytes`` of ``owner``'s ``quota`` (0: no quota) for a session on the queued
    ``image_id`` until ``lease`` from now. 413 when they do not fit, 409 when the image is not
    queued or another session holds it, 404 when it is gone."""
    now = utcnow()
    with db.write() as session:
        usage.lock_owner(session, owner)
        # a hold whose session expired, not released yet, is no one's: it makes way
        session.execute(
            update(ImageRow)
            .where(*_queued(image_id), _expired(now))
            .values(reserved_bytes=None, upload_expires_at=None)
        )
        if quota:
            remaining = max(0, quota - usage.storage_used(session, owner))
            if remaining < nbytes:
                raise over_quota(remaining)
        result = session.execute(
            update(ImageRow)
            .where(*_queued(image_id), ImageRow.reserved_bytes.is_(None))
            .values(reserved_bytes=nbytes, upload_expires_at=now + lease + LEASE_MARGIN)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            _refuse(session, image_id)


def _refuse(session: Session, image_id: str) -> None:
    status = session.scalar(
        select(ImageRow.status).where(ImageRow.id == image_id, ImageRow.deleted == false())
    )
    if status is None:
        raise errors.NotFound(f"No image found with ID {image_id}")
    if status == "queued":
        raise errors.Conflict(
            f"An upload session is already open for image {image_id}; resume it, or delete "
            "it first."
        )
    raise errors.Conflict(f"Image {image_id} is already being uploaded")


def renew(db: Database, image_id: str, lease: dt.timedelta) -> None:
    """Extend the hold; 404 when there is none (released: its session ended, or expired and
    the reaper took it back). The caller's session is live (the spool said so), so a hold
    past its time but not released yet is still its own."""
    now = utcnow()
    with db.write() as session:
        result = session.execute(
            update(ImageRow)
            .where(*_queued(image_id), ImageRow.reserved_bytes.is_not(None))
            .values(upload_expires_at=now + lease + LEASE_MARGIN)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise errors.NotFound("Upload session not found")


def release(db: Database, image_id: str) -> None:
    """Drop the hold on ``image_id`` if it still has one (queued: an upload that took it
    over holds it as its own reservation, and drops it itself)."""
    with db.write() as session:
        session.execute(
            update(ImageRow)
            .where(*_queued(image_id), ImageRow.reserved_bytes.is_not(None))
            .values(reserved_bytes=None, upload_expires_at=None)
        )


def release_expired(db: Database, now: dt.datetime) -> list[str]:
    """Drop every hold whose session expired (the reaper): the ids of their images."""
    with db.write() as session:
        ids = list(
            session.scalars(
                select(ImageRow.id).where(
                    ImageRow.deleted == false(), ImageRow.status == "queued", _expired(now)
                )
            )
        )
        if ids:
            session.execute(
                update(ImageRow)
                .where(ImageRow.id.in_(ids), ImageRow.status == "queued", _expired(now))
                .values(reserved_bytes=None, upload_expires_at=None)
            )
        return ids


def carried(db: Database, image_id: str) -> int:
    """What the image's upload took over from a session's hold (``reserved_bytes`` just after
    ``begin_upload``: no one else writes it while the image is ``saving``)."""
    with db.read() as session:
        held = session.scalar(select(ImageRow.reserved_bytes).where(ImageRow.id == image_id))
        return int(held or 0)
