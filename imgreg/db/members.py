"""``SqlMemberRepo``: the innermost end of the member chain, for the members of one image.

One row per (image, project) ever: removing a member marks its row deleted, and adding that
project again brings the same row back as ``pending`` (as Glance does), so the unique
constraint on (image_id, member) also settles two concurrent adds: the loser gets ``Conflict``.
"""

from __future__ import annotations

from sqlalchemy import false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from imgreg.db.models import MemberRow
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.image import utcnow
from imgreg.domain.member import MEMBER_ID_MAX, Member


def to_domain(row: MemberRow) -> Member:
    return Member(
        image_id=row.image_id,
        member_id=row.member,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlMemberRepo:
    def __init__(self, db: Database, image_id: str) -> None:
        self.db = db
        self.image_id = image_id

    def _not_found(self, member_id: str) -> errors.NotFound:
        return errors.NotFound(
            f"{member_id} not found in the member list of the image {self.image_id}."
        )

    def _live(self, member_id: str) -> tuple[ColumnElement[bool], ...]:
        return (
            MemberRow.image_id == self.image_id,
            MemberRow.member == member_id,
            MemberRow.deleted == false(),
        )

    def get(self, member_id: str) -> Member:
        if "\x00" in member_id or len(member_id) > MEMBER_ID_MAX:
            raise self._not_found(member_id[:64])  # no row can hold it; PostgreSQL refuses NUL
        with self.db.read() as session:
            row = session.scalar(select(MemberRow).where(*self._live(member_id)))
            if row is None:
                raise self._not_found(member_id)
            return to_domain(row)

    def list(self) -> list[Member]:
        with self.db.read() as session:
            rows = session.scalars(
                select(MemberRow)
                .where(MemberRow.image_id == self.image_id, MemberRow.deleted == false())
                .order_by(MemberRow.created_at, MemberRow.id)
            )
            return [to_domain(row) for row in rows]

    def count(self) -> int:
        with self.db.read() as session:
            total = session.scalar(
                select(func.count()).where(
                    MemberRow.image_id == self.image_id, MemberRow.deleted == false()
                )
            )
            return int(total or 0)

    def add(self, member: Member) -> Member:
        duplicate = errors.Conflict(
            f"Member {member.member_id} is duplicated for image {self.image_id}"
        )
        try:
            with self.db.write() as session:
                row = session.scalar(
                    select(MemberRow).where(
                        MemberRow.image_id == self.image_id, MemberRow.member == member.member_id
                    )
                )
                if row is None:
                    row = MemberRow(
                        image_id=self.image_id,
                        member=member.member_id,
                        status=member.status,
                        created_at=member.created_at,
                        updated_at=member.updated_at,
                        deleted=False,
                    )
                    session.add(row)
                elif row.deleted:
                    # Glance un-deletes the old row: a fresh status, the first created_at.
                    row.deleted = False
                    row.status = member.status
                    row.updated_at = member.updated_at
                    member.created_at = row.created_at
                else:
                    raise duplicate
        except IntegrityError:
            raise duplicate from None
        return member

    def save(self, member: Member) -> Member:
        now = utcnow()
        with self.db.write() as session:
            result = session.execute(
                update(MemberRow)
                .where(*self._live(member.member_id))
                .values(status=member.status, updated_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise self._not_found(member.member_id)
        member.updated_at = now
        return member

    def remove(self, member: Member) -> None:
        now = utcnow()
        with self.db.write() as session:
            result = session.execute(
                update(MemberRow)
                .where(*self._live(member.member_id))
                .values(deleted=True, updated_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise self._not_found(member.member_id)
        member.updated_at = now
