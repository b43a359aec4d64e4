"""Metadata definitions (metadefs): namespaces and what they hold.

``metadef_namespaces`` owns ``metadef_objects``, ``metadef_properties`` and ``metadef_tags``
(each unique by name within its namespace) and its associations with resource types
(``metadef_namespace_resource_types``); ``metadef_resource_types`` is global. Names compare
exactly on every database: on MariaDB/MySQL the tables take the database's binary collation
(migration 0006; no charset named here, which would bring back ``utf8mb4_general_ci``), so that
``Foo``, ``foo`` and ``foo `` are three names there as they are on SQLite and PostgreSQL.

Revision ID: 0008
Revises: 0007
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB"}


def _name(length: int = 80) -> Any:
    return sa.String(length)


def _stamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def _child(table: str, *columns: sa.Column[Any]) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("name", _name(), nullable=False),
        *columns,
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["metadef_namespaces.id"],
            name=f"fk_{table}_namespace_id_metadef_namespaces",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("namespace_id", "name", name=f"uq_{table}_namespace_id_name"),
        **MYSQL,
    )


def upgrade() -> None:
    op.create_table(
        "metadef_namespaces",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace", _name(), nullable=False),
        sa.Column("display_name", sa.String(80)),
        sa.Column("description", sa.Text()),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("owner", _name(255)),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_metadef_namespaces"),
        sa.UniqueConstraint("namespace", name="uq_metadef_namespaces_namespace"),
        **MYSQL,
    )
    op.create_index("ix_metadef_namespaces_owner", "metadef_namespaces", ["owner"])
    _child(
        "metadef_objects",
        sa.Column("description", sa.Text()),
        sa.Column("required", sa.Text()),
        sa.Column("json_schema", sa.Text(), nullable=False),
    )
    _child("metadef_properties", sa.Column("json_schema", sa.Text(), nullable=False))
    _child("metadef_tags")
    op.create_table(
        "metadef_resource_types",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", _name(), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_metadef_resource_types"),
        sa.UniqueConstraint("name", name="uq_metadef_resource_types_name"),
        **MYSQL,
    )
    op.create_table(
        "metadef_namespace_resource_types",
        sa.Column("resource_type_id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("properties_target", sa.String(80)),
        sa.Column("prefix", sa.String(80)),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["resource_type_id"],
            ["metadef_resource_types.id"],
            name="fk_metadef_ns_res_types_resource_type_id",
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["metadef_namespaces.id"],
            name="fk_metadef_ns_res_types_namespace_id",
        ),
        sa.PrimaryKeyConstraint(
            "resource_type_id", "namespace_id", name="pk_metadef_namespace_resource_types"
        ),
        **MYSQL,
    )
    op.create_index(
        "ix_metadef_ns_res_types_namespace_id",
        "metadef_namespace_resource_types",
        ["namespace_id"],
    )
