"""The typed model of the ``tasks`` table (migration 0009); it shares ``Base`` with the image
models, so the migration test compares it too.

One row per task, with what Glance keeps apart in ``task_info`` (``input``, ``result``,
``message``) in the same row: a task is always read whole. ``input`` and ``result`` are JSON
objects stored as text (``MEDIUMTEXT`` on MariaDB/MySQL, whose ``TEXT`` stops at 64 KiB, less
than a request body may hold). Times keep microseconds on every database, since
``/v2/images/{id}/tasks`` shows them. Expired tasks are soft-deleted (``deleted = true``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from imgreg.db.models import PRECISE_TIME, Base

JSON_TEXT: Any = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class TaskRow(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    owner: Mapped[str | None] = mapped_column(String(255))
    input: Mapped[str | None] = mapped_column(JSON_TEXT)
    result: Mapped[str | None] = mapped_column(JSON_TEXT)
    message: Mapped[str | None] = mapped_column(JSON_TEXT)
    image_id: Mapped[str | None] = mapped_column(String(36))
    request_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(PRECISE_TIME)
    created_at: Mapped[dt.datetime] = mapped_column(PRECISE_TIME)
    updated_at: Mapped[dt.datetime] = mapped_column(PRECISE_TIME)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(PRECISE_TIME)

    __table_args__ = (
        # the list's filters and sort keys, behind ``deleted`` as every read filters on it
        Index("ix_tasks_deleted_created_at_id", "deleted", "created_at", "id"),
        Index("ix_tasks_deleted_updated_at_id", "deleted", "updated_at", "id"),
        Index("ix_tasks_status", "status"),
        Index("ix_tasks_type", "type"),
        Index("ix_tasks_owner", "owner"),
        Index("ix_tasks_image_id", "image_id"),
        Index("ix_tasks_expires_at", "expires_at"),  # the reaper's delete_expired
    )
