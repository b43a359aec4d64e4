"""``SqlTaskRepo``: the innermost end of the task chain, one short transaction per call.

A task that ended (success or failure) gets its expiry when it is saved, if whoever ended it
did not set one, so that no ended task is kept for ever; the reaper's ``delete_expired``
then soft-deletes it. Reads leave out deleted tasks and those whose expiry passed but that the
reaper has not reached yet, as Glance does when it lists.

Lists page by keyset (the marker task's sort values, then ``created_at`` and ``id`` as tie
breakers, all in the list's direction). The nullable sort keys (``owner``, ``expires_at``)
compare through ``COALESCE``, so that a missing value sorts the same way on every database.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, select, true, update
from sqlalchemy.orm import Session

from imgreg.db.session import Database
from imgreg.db.tasks_models import TaskRow
from imgreg.domain import errors
from imgreg.domain.task import ENDED, Task, now
from imgreg.domain.task_query import SORT_KEYS, TaskQuery

# what a missing owner / expiry compares as, in sorts and markers
_NO_OWNER = ""
_NO_EXPIRY = dt.datetime(1970, 1, 1)


def task_not_found(task_id: str) -> errors.NotFound:
    return errors.NotFound(f"Task with the given ID {task_id} could not be found")


def _is_task_id(task_id: str) -> bool:
    try:
        return str(uuid.UUID(task_id)) == task_id
    except (ValueError, AttributeError, TypeError):
        return False


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def to_domain(row: TaskRow) -> Task:
    return Task(
        id=row.id,
        type=row.type,
        owner=row.owner,
        status=row.status,
        input=_load(row.input) or {},
        result=_load(row.result),
        message=row.message or "",
        image_id=row.image_id,
        request_id=row.request_id,
        user_id=row.user_id,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _sort_column(key: str) -> ColumnElement[Any]:
    if key not in SORT_KEYS:
        raise errors.Invalid(f"Invalid sort key: {key}. It must be one of: {', '.join(SORT_KEYS)}.")
    column: ColumnElement[Any] = getattr(TaskRow, key)
    if key == "owner":
        return func.coalesce(column, literal(_NO_OWNER))
    if key == "expires_at":
        return func.coalesce(column, literal(_NO_EXPIRY, TaskRow.expires_at.type))
    return column


def _sort_value(row: TaskRow, key: str) -> Any:
    value = getattr(row, key)
    if value is None:
        return _NO_OWNER if key == "owner" else _NO_EXPIRY
    return value


class SqlTaskRepo:
    def __init__(self, db: Database, time_to_live: dt.timedelta) -> None:
        self.db = db
        self.time_to_live = time_to_live

    @staticmethod
    def _live(at: dt.datetime) -> tuple[ColumnElement[bool], ...]:
        return (
            TaskRow.deleted == false(),
            or_(TaskRow.expires_at.is_(None), TaskRow.expires_at > at),
        )

    def _row(self, session: Session, task_id: str, owner: str | None = None) -> TaskRow | None:
        if not _is_task_id(task_id):
            return None  # no row can have it (and PostgreSQL refuses NUL in a bound string)
        where = [TaskRow.id == task_id, *self._live(now())]
        if owner is not None:
            where.append(TaskRow.owner == owner)
        return session.scalar(select(TaskRow).where(*where))

    def get(self, task_id: str) -> Task:
        with self.db.read() as session:
            row = self._row(session, task_id)
            if row is None:
                raise task_not_found(task_id[:64])
            return to_domain(row)

    def list(self, query: TaskQuery) -> list[Task]:
        keys = list(dict.fromkeys((query.sort_key, "created_at", "id")))
        columns = [_sort_column(key) for key in keys]
        descending = query.sort_dir == "desc"
        where: list[ColumnElement[bool]] = list(self._live(now()))
        if query.owner is not None:
            where.append(TaskRow.owner == query.owner)
        if query.status is not None:
            where.append(TaskRow.status == query.status)
        if query.type is not None:
            where.append(TaskRow.type == query.type)
        with self.db.read() as session:
            if query.marker is not None:
                marker = self._row(session, query.marker, query.owner)
                if marker is None:
                    raise errors.Invalid(f"Invalid marker: task {query.marker[:64]} not found")
                values = [_sort_value(marker, key) for key in keys]
                where.append(self._after(columns, values, descending))
            order = [c.desc() if descending else c.asc() for c in columns]
            statement = select(TaskRow).where(*where).order_by(*order).limit(query.limit)
            rows = session.scalars(statement)
            return [to_domain(row) for row in rows]

    @staticmethod
    def _after(
        columns: builtins.list[ColumnElement[Any]], values: builtins.list[Any], descending: bool
    ) -> ColumnElement[bool]:
        """Rows strictly after the marker's ``values`` in the sort order."""
        options = []
        for i, column in enumerate(columns):
            beyond = column < values[i] if descending else column > values[i]
            equal = [columns[j] == values[j] for j in range(i)]
            options.append(and_(*equal, beyond) if equal else beyond)
        return or_(*options)

    def list_for_image(self, image_id: str) -> builtins.list[Task]:
        with self.db.read() as session:
            rows = session.scalars(
                select(TaskRow)
                .where(TaskRow.image_id == image_id, *self._live(now()))
                .order_by(TaskRow.created_at, TaskRow.id)
            )
            return [to_domain(row) for row in rows]

    def add(self, task: Task) -> Task:
        with self.db.write() as session:
            session.add(
                TaskRow(
                    id=task.id,
                    type=task.type,
                    status=task.status,
                    owner=task.owner,
                    input=_dump(task.input),
                    result=_dump(task.result),
                    message=task.message,
                    image_id=task.image_id,
                    request_id=task.request_id,
                    user_id=task.user_id,
                    expires_at=task.expires_at,
                    created_at=task.created_at,
                    updated_at=task.updated_at,
                    deleted=False,
                )
            )
        return task

    def save(self, task: Task, from_status: str | None = None) -> Task:
        """Write the task's status, result, message and expiry. With ``from_status``, only
        if the stored task is still in that status (``StaleState`` otherwise)."""
        if task.status in ENDED and task.expires_at is None:
            task.ended(self.time_to_live)
        updated_at = now()
        where = [TaskRow.id == task.id, TaskRow.deleted == false()]
        if from_status is not None:
            where.append(TaskRow.status == from_status)
        with self.db.write() as session:
            result = session.execute(
                update(TaskRow)
                .where(*where)
                .values(
                    status=task.status,
                    result=_dump(task.result),
                    message=task.message,
                    image_id=task.image_id,
                    expires_at=task.expires_at,
                    updated_at=updated_at,
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                current = session.scalar(select(TaskRow.status).where(*where[:2]))
                if current is None:
                    raise task_not_found(task.id)
                raise errors.StaleState(
                    f"Task {task.id} is {current}, no longer {from_status}: not saved"
                )
        task.updated_at = updated_at
        return task

    def unfinished_before(self, at: dt.datetime) -> builtins.list[Task]:
        """The image tasks (imports, location imports) still pending or processing that
        nobody has saved since ``at``: the reaper's candidates for a worker that died between
        ending the image's part and recording the task's end."""
        with self.db.read() as session:
            rows = session.scalars(
                select(TaskRow)
                .where(
                    TaskRow.deleted == false(),
                    TaskRow.status.in_(("pending", "processing")),
                    TaskRow.type.in_(("api_image_import", "location_import")),
                    TaskRow.image_id.is_not(None),
                    TaskRow.updated_at < at,
                )
                .order_by(TaskRow.updated_at)
                .limit(1000)
            )
            return [to_domain(row) for row in rows]

    def delete_expired(self, at: dt.datetime) -> int:
        """Soft-delete every task whose expiry is ``at`` or earlier; how many were."""
        with self.db.write() as session:
            result = session.execute(
                update(TaskRow)
                .where(
                    TaskRow.deleted == false(),
                    TaskRow.expires_at.is_not(None),
                    TaskRow.expires_at <= at,
                )
                .values(deleted=true(), deleted_at=at)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
