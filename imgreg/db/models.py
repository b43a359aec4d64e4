"""Typed SQLAlchemy models. The schema itself is created only by the Alembic migrations in
``imgreg/db/migrations``; these classes must agree with them (a test compares the two).

On MariaDB/MySQL every table, hence every string column, is in a binary collation that does not
pad (``utf8mb4_nopad_bin``, migration 0006): strings compare exactly there too, as on PostgreSQL
and SQLite (``FOO``, ``föo`` and ``foo `` are not ``foo``).

Rows are never hard-deleted: a deleted image keeps its row (``deleted = true``) so that its id
can never be handed out again (OSSN-0075).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# To the microsecond on MariaDB too, whose DATETIME keeps whole seconds (the lock's times).
PRECISE_TIME = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ImageRow(Base):
    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(30))
    visibility: Mapped[str] = mapped_column(String(20))
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    container_format: Mapped[str | None] = mapped_column(String(32))
    disk_format: Mapped[str | None] = mapped_column(String(32))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    crc32: Mapped[int | None] = mapped_column(BigInteger)  # internal, never shown
    # sha-256 of the data (hex), sent in Repr-Digest; internal, never shown (0013)
    data_sha256: Mapped[str | None] = mapped_column(String(64))
    # The lease of the upload running while status is 'saving' (migration 0004); on a
    # 'queued' image, a resumable session's expiry, or when its last upload ended.
    upload_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Bytes of the owner's storage quota held by the upload running while 'saving' (0005).
    reserved_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Incremented by every change of the record: the image's ETag (0011).
    revision: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # What a list sorted by these keys orders by: a NULL sorts as "" (0), like Glance's
    # (generated columns, migration 0012, never written: stored on PostgreSQL and, since
    # 0018, on MariaDB, whose virtual ones gave wrong results; virtual on SQLite)
    sort_name: Mapped[str] = mapped_column(String(255), Computed("coalesce(name, '')"))
    sort_container_format: Mapped[str] = mapped_column(
        String(32), Computed("coalesce(container_format, '')")
    )
    sort_disk_format: Mapped[str] = mapped_column(String(32), Computed("coalesce(disk_format, '')"))
    sort_size: Mapped[int] = mapped_column(BigInteger, Computed("coalesce(size, 0)"))

    properties: Mapped[list[PropertyRow]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    tags: Mapped[list[TagRow]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    locations: Mapped[list[LocationRow]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # The default list: live rows, visible (or hidden) ones, newest first, id as the
        # tie-breaker (every list matches deleted and os_hidden exactly: migration 0016).
        Index("ix_images_list_created_at", "deleted", "os_hidden", "created_at", "id"),
        # A project's own images, of one visibility, with the columns every list matches and
        # its default order (migrations 0014, 0020).
        Index(
            "ix_images_owner_visibility",
            *("owner", "visibility", "deleted", "os_hidden", "created_at", "id"),
        ),
        # One status of one visibility newest first, and any status alone (migration 0019).
        Index(
            "ix_images_status_visibility",
            *("status", "visibility", "deleted", "os_hidden", "created_at", "id"),
        ),
        Index("ix_images_name", "name"),
        # Selective list filters (migration 0003).
        Index("ix_images_checksum", "checksum"),
        Index("ix_images_os_hash_value", "os_hash_value"),
        # One visibility (a project's public walk) in name order (migration 0017).
        Index(
            "ix_images_list_visibility_sort_name",
            *("deleted", "os_hidden", "visibility", "sort_name", "created_at", "id"),
        ),
        # Each sort key, then the tie-breakers; one visibility newest first (migrations
        # 0012, 0016).
        *(
            Index(f"ix_images_list_{key}", "deleted", "os_hidden", key, "created_at", "id")
            for key in (
                "sort_name",
                "sort_container_format",
                "sort_disk_format",
                "sort_size",
                "status",
                "updated_at",
                "visibility",
            )
        ),
    )


class QuotaLockRow(Base):
    """One row per owner, locked (``SELECT … FOR UPDATE``) while a quota decision for that
    owner is taken, so that two workers never both spend the same remaining quota."""

    __tablename__ = "quota_locks"

    owner: Mapped[str] = mapped_column(String(255), primary_key=True)


class SweepLockRow(Base):
    """A cluster-wide periodic job's lock (``imgreg.db.sweep_lock``, migration 0007): taken
    with a conditional UPDATE, never a database's own lock, which Galera keeps per node."""

    __tablename__ = "sweep_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None] = mapped_column(PRECISE_TIME)  # held until
    swept_at: Mapped[dt.datetime | None] = mapped_column(PRECISE_TIME)  # last finished sweep


class PropertyRow(Base):
    __tablename__ = "image_properties"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_image_properties_name", "name"),)


class TagRow(Base):
    __tablename__ = "image_tags"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)

    # A tag's images in id order: counted up to a limit, looked up (migration 0015).
    __table_args__ = (Index("ix_image_tags_value_image_id", "value", "image_id"),)


class LocationRow(Base):
    __tablename__ = "image_locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # The location's metadata as JSON text; NULL is {} (migration 0010).
    meta_data: Mapped[str | None] = mapped_column(Text)


class MemberRow(Base):
    __tablename__ = "image_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"))
    member: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("image_id", "member"),
        # The images shared with a project, answered one way (migration 0014).
        Index(
            "ix_image_members_member_deleted_status_image_id",
            "member",
            "deleted",
            "status",
            "image_id",
        ),
    )
