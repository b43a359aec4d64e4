"""``SqlImageRepo``: the innermost layer. Maps rows to domain ``Image`` objects and back.

Every method is one short transaction. ``save(image, from_state=…)`` is a compare-and-swap on
the status column, so two workers racing over one image cannot both win.
"""

from __future__ import annotations

from sqlalchemy import delete, false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imgreg.db.models import ImageRow, LocationRow, MemberRow, PropertyRow, TagRow
from imgreg.db.query import ListQuery, build_select
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.image import Image, utcnow

COLUMNS = ("name", "status", "visibility", "protected", "os_hidden", "owner", "container_format",
           "disk_format", "min_disk", "min_ram", "size", "virtual_size", "checksum",
           "os_hash_algo", "os_hash_value", "created_at", "updated_at")  # fmt: skip


def to_domain(row: ImageRow) -> Image:
    image = Image(
        id=row.id,
        **{name: getattr(row, name) for name in COLUMNS},
        tags={t.value for t in row.tags},
        extra_properties={p.name: p.value for p in row.properties},
        locations=[loc.url for loc in sorted(row.locations, key=lambda r: r.id)],
    )
    image.mark_clean()
    return image


class SqlImageRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _load(self, session: Session, image_id: str) -> ImageRow:
        row = session.scalar(
            select(ImageRow).where(ImageRow.id == image_id, ImageRow.deleted == false())
        )
        if row is None:
            raise errors.NotFound(f"No image found with ID {image_id}")
        return row

    def get(self, image_id: str) -> Image:
        with self.db.read() as session:
            return to_domain(self._load(session, image_id))

    def list(self, query: ListQuery) -> list[Image]:
        with self.db.read() as session:
            marker = None
            if query.marker_id is not None:
                marker = session.scalar(
                    select(ImageRow).where(
                        ImageRow.id == query.marker_id, ImageRow.deleted == false()
                    )
                )
                if marker is None:
                    raise errors.Invalid(
                        f"Invalid marker. Image {query.marker_id} could not be found."
                    )
            return [to_domain(row) for row in session.scalars(build_select(query, marker))]

    def add(self, image: Image) -> Image:
        row = ImageRow(id=image.id, deleted=False, **{n: getattr(image, n) for n in COLUMNS})
        row.properties = [PropertyRow(name=k, value=v) for k, v in image.extra_properties.items()]
        row.tags = [TagRow(value=t) for t in image.tags]
        try:
            with self.db.write() as session:
                session.add(row)
        except IntegrityError:
            raise errors.Conflict(f"Image ID {image.id} already exists!") from None
        image.mark_clean()
        return image

    def save(self, image: Image, from_state: str | None = None) -> Image:
        changes = image.changes()
        image.updated_at = utcnow()
        stmt = update(ImageRow).where(ImageRow.id == image.id, ImageRow.deleted == false())
        if from_state is not None:
            stmt = stmt.where(ImageRow.status == from_state)
        stmt = stmt.values(**{n: getattr(image, n) for n in COLUMNS if n != "created_at"})
        with self.db.write() as session:
            if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
                if from_state is not None and self._exists(session, image.id):
                    raise errors.StaleState(
                        f"Image {image.id} is no longer {from_state}; another request changed it"
                    )
                raise errors.NotFound(f"No image found with ID {image.id}")
            if changes.properties:
                self._write_properties(session, image)
            if changes.tags_changed:
                session.execute(delete(TagRow).where(TagRow.image_id == image.id))
                session.add_all(TagRow(image_id=image.id, value=t) for t in image.tags)
            session.execute(delete(LocationRow).where(LocationRow.image_id == image.id))
            session.add_all(LocationRow(image_id=image.id, url=u) for u in image.locations)
        image.mark_clean()
        return image

    def _exists(self, session: Session, image_id: str) -> bool:
        found = session.scalar(
            select(ImageRow.id).where(ImageRow.id == image_id, ImageRow.deleted == false())
        )
        return found is not None

    @staticmethod
    def _write_properties(session: Session, image: Image) -> None:
        session.execute(delete(PropertyRow).where(PropertyRow.image_id == image.id))
        session.add_all(
            PropertyRow(image_id=image.id, name=k, value=v)
            for k, v in image.extra_properties.items()
        )

    def remove(self, image: Image) -> None:
        now = utcnow()
        with self.db.write() as session:
            result = session.execute(
                update(ImageRow)
                .where(ImageRow.id == image.id, ImageRow.deleted == false())
                .values(status="deleted", deleted=True, deleted_at=now, updated_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise errors.NotFound(f"Failed to find image {image.id} to delete")
            session.execute(delete(LocationRow).where(LocationRow.image_id == image.id))
        image.status = "deleted"

    def member_status(self, image_id: str, member: str) -> str | None:
        with self.db.read() as session:
            return session.scalar(
                select(MemberRow.status).where(
                    MemberRow.image_id == image_id,
                    MemberRow.member == member,
                    MemberRow.deleted == false(),
                )
            )

    def storage_used(self, owner: str | None) -> int:
        """Bytes held by the owner's live images (the user_storage_quota measure)."""
        with self.db.read() as session:
            total = session.scalar(
                select(func.coalesce(func.sum(ImageRow.size), 0)).where(
                    ImageRow.owner == owner, ImageRow.deleted == false()
                )
            )
            return int(total or 0)
