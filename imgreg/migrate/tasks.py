"""Glance's tasks still of interest (rows it has not deleted: those not yet past
``task_time_to_live``), each with its ``task_info`` (input, result, message), written into
imgreg's ``tasks`` table, which keeps both in one row. Same ids, owners, times and statuses; a
task Glance left ``pending`` or ``processing`` is imported as it stands. Written as images are:
compared first, changed only when different, so re-runs change nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Table, false, insert, select, update

from imgreg.db.session import Database
from imgreg.db.tasks_models import TaskRow
from imgreg.domain.task import STATUSES, TYPES
from imgreg.migrate.glance_source import GlanceSource, touched

TASKS = cast(Table, TaskRow.__table__)
FIELDS = ("id", "type", "status", "owner", "image_id", "request_id", "user_id", "expires_at",
          "created_at", "updated_at", "deleted", "deleted_at")  # fmt: skip


def read(source: GlanceSource, since: dt.datetime | None) -> list[dict[str, Any]]:
    """Glance's live tasks (changed since ``since``), as imgreg rows; [] when the Glance
    database has no task tables."""
    tasks = source.meta.tables.get("tasks")
    info = source.meta.tables.get("task_info")
    if tasks is None or info is None:
        return []
    query = (
        select(tasks, info.c.input, info.c.result, info.c.message)
        .select_from(tasks.outerjoin(info, info.c.task_id == tasks.c.id))
        .where(tasks.c.deleted == false())
        .order_by(tasks.c.id)
    )
    if since is not None:
        query = query.where(touched(tasks, since))
    with source.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    return [
        {name: row.get(name) for name in (*FIELDS, "input", "result", "message")}
        | {"deleted": bool(row["deleted"]), "updated_at": row["updated_at"] or row["created_at"]}
        for row in rows
    ]


def refusal(task: dict[str, Any]) -> str | None:
    if task["type"] not in TYPES:
        return f"unknown type {task['type']!s:.32}"
    if task["status"] not in STATUSES:
        return f"unknown status {task['status']!s:.32}"
    return None


def write(db: Database, tasks: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(created, updated, unchanged)."""
    created = updated = unchanged = 0
    with db.write() as session:
        ids = [t["id"] for t in tasks]
        have = {
            row["id"]: dict(row)
            for row in session.execute(select(TASKS).where(TASKS.c.id.in_(ids))).mappings()
        }
        for task in tasks:
            old = have.get(task["id"])
            if old is None:
                session.execute(insert(TASKS), [task])
                created += 1
            elif _normal(old) != _normal(task):
                session.execute(update(TASKS).where(TASKS.c.id == task["id"]).values(**task))
                updated += 1
            else:
                unchanged += 1
    return created, updated, unchanged


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.replace(microsecond=0) if isinstance(v, dt.datetime) else v)
        for k, v in row.items()
        if k in (*FIELDS, "input", "result", "message")
    } | {"deleted": bool(row["deleted"])}
