"""Per-owner quota decisions that hold when several workers decide at once.

Reading "how much is used" and then writing "this much more" is two steps; two workers that
both read before either writes both see room, and together overshoot (Glance's storage quota
does exactly that under parallel uploads). Here every decision for one owner first locks that
owner's ``quota_locks`` row, inside the transaction that reads the usage and records the new
use, so the decisions on one owner run one after the other. SQLite needs no row lock: writes
begin with ``BEGIN IMMEDIATE`` and so already run one at a time.

An owner's storage use is ``size + reserved_bytes`` summed over their live images: an upload's
reservation and its final size are swapped in one statement (``SqlImageRepo.save``), so the sum
never counts an image twice or not at all.
"""

from __future__ import annotations

from sqlalchemy import false, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from imgreg.db.models import ImageRow, QuotaLockRow


def lock_owner(session: Session, owner: str | None) -> None:
    """Take the owner's quota lock for the rest of the transaction (creating its row the
    first time; a concurrent creator makes the insert fail, and the row is then there)."""
    key = owner or ""
    row = select(QuotaLockRow.owner).where(QuotaLockRow.owner == key)
    stmt = row.with_for_update()
    bind = session.get_bind()
    if bind.dialect.name == "mysql":
        # InnoDB: workers racing to create the row lock the gap with their FOR UPDATE, and
        # their inserts deadlock (1213, Galera's certification too), which rolls back the
        # whole transaction, savepoint or not. So a missing row is made (INSERT IGNORE) in a
        # transaction of its own first, looked for without a lock: none is held on it yet.
        if session.scalar(row) is None:
            engine = bind.engine if isinstance(bind, Connection) else bind
            with engine.begin() as conn:
                conn.execute(insert(QuotaLockRow).prefix_with("IGNORE").values(owner=key))
        session.scalar(stmt)
        return
    if session.scalar(stmt) is not None:
        return
    try:
        with session.begin_nested():  # a savepoint: the failed insert must not end the txn
            session.execute(insert(QuotaLockRow).values(owner=key))
    except IntegrityError:
        session.scalar(stmt)  # created meanwhile by another worker: wait for it, lock it


def _live(owner: str | None) -> list[ColumnElement[bool]]:
    return [ImageRow.owner == owner, ImageRow.deleted == false()]


def storage_used(session: Session, owner: str | None) -> int:
    """Bytes stored by the owner's live images plus bytes reserved by their running uploads."""
    total = session.scalar(
        select(
            func.coalesce(func.sum(ImageRow.size), 0)
            + func.coalesce(func.sum(ImageRow.reserved_bytes), 0)
        ).where(*_live(owner))
    )
    return int(total or 0)


def image_count(session: Session, owner: str | None) -> int:
    count = session.scalar(select(func.count()).select_from(ImageRow).where(*_live(owner)))
    return int(count or 0)


def add_reservation(session: Session, image_id: str, nbytes: int) -> bool:
    """Add ``nbytes`` to the reservation of the upload running for ``image_id``; False when
    that image is no longer ``saving`` (deleted, or reclaimed by the reaper)."""
    result = session.execute(
        update(ImageRow)
        .where(ImageRow.id == image_id, ImageRow.deleted == false(), ImageRow.status == "saving")
        .values(reserved_bytes=func.coalesce(ImageRow.reserved_bytes, 0) + nbytes)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
