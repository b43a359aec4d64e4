"""Index every documented list order, so that a page of any sort is a walk down an index.

A list sorted by ``name``, ``container_format``, ``disk_format`` or ``size`` orders by the
key with a NULL read as ``""`` (``0`` for ``size``), so that a NULL sorts with the empty
value as Glance's does; an index on the column cannot give that order, and every such page
read and sorted every row (an index on the expression would do on PostgreSQL and SQLite, not
on MariaDB, which has none). Each of those keys gets a generated column holding the value the
list sorts by (``sort_name`` … ``sort_size``: STORED on PostgreSQL, which has no other kind,
VIRTUAL elsewhere: computed when read or indexed, nothing stored in the row), and the list
sorts by it.

Each sort key then gets an index ``(deleted, key, created_at, id)``: a list is over live rows
(``deleted = false``) and its order is the key, then the tie-breakers ``created_at`` and
``id`` (``imgreg.api.list_params.with_tie_breakers``); the index gives that order whichever
way it is walked, and a marker is a range of it. ``(deleted, updated_at, id)`` of 0003 lacked
``created_at`` and is replaced. ``(deleted, visibility, created_at, id)`` serves the lists of
one visibility (``visibility=public&status=active``) newest first.

On a big catalog this migration takes a while (each index is built by reading the table once;
PostgreSQL rewrites the table to add the stored columns).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

GENERATED = (
    ("sort_name", sa.String(255), "coalesce(name, '')"),
    ("sort_container_format", sa.String(32), "coalesce(container_format, '')"),
    ("sort_disk_format", sa.String(32), "coalesce(disk_format, '')"),
    ("sort_size", sa.BigInteger(), "coalesce(size, 0)"),
)
ORDERED = ("sort_name", "sort_container_format", "sort_disk_format", "sort_size", "status")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # PostgreSQL (before 18) has STORED only; SQLite cannot add a STORED column
    stored = True if dialect == "postgresql" else None
    columns = [sa.Column(n, t, sa.Computed(e, persisted=stored)) for n, t, e in GENERATED]
    if dialect == "sqlite":
        # SQLite's ADD COLUMN appends each definition to the one line of the table's stored
        # CREATE, where SQLAlchemy's reflection takes a generated expression to run to the
        # line's last parenthesis (every expression but the last read wrong): a line break
        # before VIRTUAL ends each one's line
        for name, type_, expression in GENERATED:
            kind = type_.compile(dialect=op.get_bind().dialect)
            op.execute(
                f"ALTER TABLE images ADD COLUMN {name} {kind} "
                f"GENERATED ALWAYS AS ({expression})\nVIRTUAL"
            )
    else:
        for column in columns:
            op.add_column("images", column)
    for key in ORDERED:
        op.create_index(f"ix_images_deleted_{key}_created_at_id", "images",
                        ["deleted", key, "created_at", "id"])  # fmt: skip
    op.drop_index("ix_images_deleted_updated_at_id", "images")
    op.create_index(
        "ix_images_deleted_updated_at_created_at_id",
        "images",
        ["deleted", "updated_at", "created_at", "id"],
    )
    op.create_index(
        "ix_images_deleted_visibility_created_at_id",
        "images",
        ["deleted", "visibility", "created_at", "id"],
    )
