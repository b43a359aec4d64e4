"""Tasks: the ``tasks`` table (Glance's ``tasks`` and ``task_info`` in one row).

Ids and owners compare exactly on every database: on MariaDB/MySQL the table takes the
database's binary collation (migration 0006; no charset named here). ``input``, ``result``
and ``message`` are ``MEDIUMTEXT`` there (``TEXT`` holds 64 KiB, less than a request body
may), and every time keeps microseconds (``DATETIME(6)``), which ``/v2/images/{id}/tasks``
shows.

Revision ID: 0009
Revises: 0008
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"

TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
JSON_TEXT: Any = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
INDEXES = {
    "ix_tasks_deleted_created_at_id": ["deleted", "created_at", "id"],
    "ix_tasks_deleted_updated_at_id": ["deleted", "updated_at", "id"],
    "ix_tasks_status": ["status"],
    "ix_tasks_type": ["type"],
    "ix_tasks_owner": ["owner"],
    "ix_tasks_image_id": ["image_id"],
    "ix_tasks_expires_at": ["expires_at"],
}


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("input", JSON_TEXT),
        sa.Column("result", JSON_TEXT),
        sa.Column("message", JSON_TEXT),
        sa.Column("image_id", sa.String(36)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("user_id", sa.String(64)),
        sa.Column("expires_at", TIME),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        mysql_engine="InnoDB",
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "tasks", columns)
