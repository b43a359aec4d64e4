"""A cluster-wide lock for a periodic job, held in a row of ``sweep_locks`` (migration 0007).

Every server process runs the reaper on its own timer; the row makes sure that only one of them,
on any node sharing the database, sweeps at a time, and that the next sweep anywhere waits a
period after the last one finished. It is taken and renewed only by conditional UPDATEs that
commit (``holder``, ``expires_at``), so it works alike on SQLite, PostgreSQL, MariaDB and
Galera, where a conflicting take on another node fails certification at commit. A holder
killed mid-sweep stops renewing; its hold runs out and the next process takes the row, or
(``take_over``) at once, a process of the same node that sees that the holder is gone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, exc, insert, or_, update

from imgreg.db.models import SweepLockRow
from imgreg.db.session import Database


def _free(name: str, now: dt.datetime) -> ColumnElement[bool]:
    return (SweepLockRow.name == name) & or_(
        SweepLockRow.expires_at.is_(None), SweepLockRow.expires_at < now
    )


def take(
    db: Database,
    name: str,
    holder: str,
    now: dt.datetime,
    hold: dt.timedelta,
    every: dt.timedelta | None = None,
) -> bool:
    """Take the lock until ``now + hold``, if no one holds it and (``every``) the last sweep
    finished at least ``every`` ago. True only once that has been committed."""
    free = _free(name, now)
    if every is not None:
        free = free & or_(SweepLockRow.swept_at.is_(None), SweepLockRow.swept_at <= now - every)
    with db.write() as session:
        taken = session.execute(
            update(SweepLockRow).where(free).values(holder=holder, expires_at=now + hold)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return True  # committed when the block ends, or the error propagates
        if session.get(SweepLockRow, name) is not None:
            return False
    try:  # the row is missing (a table emptied by hand): whoever inserts it holds it
        with db.write() as session:
            session.execute(
                insert(SweepLockRow).values(name=name, holder=holder, expires_at=now + hold)
            )
    except exc.IntegrityError:
        return False
    return True


def holder_of(db: Database, name: str) -> str | None:
    """Who holds the lock now (None when it is free)."""
    with db.read() as session:
        row = session.get(SweepLockRow, name)
        return row.holder if row is not None and row.expires_at is not None else None


def take_over(
    db: Database, name: str, dead: str, holder: str, now: dt.datetime, hold: dt.timedelta
) -> bool:
    """Take the lock from ``dead``, a holder the caller knows to be gone, if it still holds
    it; True once committed."""
    with db.write() as session:
        result = session.execute(
            update(SweepLockRow)
            .where(
                SweepLockRow.name == name,
                SweepLockRow.holder == dead,
                SweepLockRow.expires_at.is_not(None),
            )
            .values(holder=holder, expires_at=now + hold)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def renew(db: Database, name: str, holder: str, now: dt.datetime, hold: dt.timedelta) -> bool:
    """Extend a held lock to ``now + hold``; False when it is no longer ``holder``'s (its hold
    ran out and another process took it)."""
    with db.write() as session:
        result = session.execute(
            update(SweepLockRow)
            .where(
                SweepLockRow.name == name,
                SweepLockRow.holder == holder,
                SweepLockRow.expires_at.is_not(None),
            )
            .values(expires_at=now + hold)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(db: Database, name: str, holder: str, now: dt.datetime, swept: bool = True) -> None:
    """Free the lock if ``holder`` still holds it; ``swept`` records ``now`` as the end of a
    completed sweep (the next one is due a period later), otherwise the next may start now."""
    values: dict[str, object] = {"expires_at": None}
    if swept:
        values["swept_at"] = now
    with db.write() as session:
        session.execute(
            update(SweepLockRow)
            .where(
                SweepLockRow.name == name,
                SweepLockRow.holder == holder,
                SweepLockRow.expires_at.is_not(None),
            )
            .values(**values)
        )
