"""Typed models of the ``metadef_*`` tables (migration 0008); they share ``Base`` with the
image models, so the migration test compares them too.

Name columns compare exactly on MariaDB as well (the tables' binary collation, migration
0006); JSON documents (an object's properties and required list, a property's schema) are
stored as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from imgreg.db.models import Base


def name_type(length: int = 80) -> Any:
    return String(length)


class NamespaceRow(Base):
    __tablename__ = "metadef_namespaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(name_type(), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32))
    protected: Mapped[bool] = mapped_column(Boolean)
    owner: Mapped[str | None] = mapped_column(name_type(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


def _namespace_fk(table: str) -> Any:
    return mapped_column(
        ForeignKey("metadef_namespaces.id", name=f"fk_{table}_namespace_id_metadef_namespaces")
    )


class ObjectRow(Base):
    __tablename__ = "metadef_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk("metadef_objects")
    name: Mapped[str] = mapped_column(name_type())
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[str | None] = mapped_column(Text)
    json_schema: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class PropertyDefRow(Base):
    __tablename__ = "metadef_properties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk("metadef_properties")
    name: Mapped[str] = mapped_column(name_type())
    json_schema: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class TagDefRow(Base):
    __tablename__ = "metadef_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk("metadef_tags")
    name: Mapped[str] = mapped_column(name_type())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class ResourceTypeRow(Base):
    __tablename__ = "metadef_resource_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(name_type(), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AssociationRow(Base):
    __tablename__ = "metadef_namespace_resource_types"

    resource_type_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_resource_types.id", name="fk_metadef_ns_res_types_resource_type_id"),
        primary_key=True,
    )
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", name="fk_metadef_ns_res_types_namespace_id"),
        primary_key=True,
    )
    properties_target: Mapped[str | None] = mapped_column(String(80))
    prefix: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_metadef_ns_res_types_namespace_id", "namespace_id"),)
