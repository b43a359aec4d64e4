"""The ``Task`` domain object: one asynchronous job (Glance's tasks), and its status table.

Imports (``api_image_import``) and the legacy ``POST /v2/tasks`` imports (``import``) are
tasks; clients follow them on ``/v2/tasks`` (admins) and ``/v2/images/{id}/tasks``. A task
moves pending → processing → success | failure (pending → failure too) and expires
``task_time_to_live`` hours after it ended.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from imgreg.domain import errors

TYPES = ("import", "api_image_import", "location_import")
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "failure"}),
    "processing": frozenset({"success", "failure"}),
    "success": frozenset(),
    "failure": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
ENDED = frozenset({"success", "failure"})


def now() -> dt.datetime:
    """Naive UTC to the microsecond: tasks keep it (``/v2/images/{id}/tasks`` shows it, and
    tasks made in the same second still sort in the order they were made)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclasses.dataclass(eq=False)
class Task:
    id: str
    type: str
    owner: str | None
    status: str = "pending"
    input: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: dict[str, Any] | None = None
    message: str = ""
    image_id: str | None = None
    request_id: str | None = None
    user_id: str | None = None
    expires_at: dt.datetime | None = None
    created_at: dt.datetime = dataclasses.field(default_factory=now)
    updated_at: dt.datetime = dataclasses.field(default_factory=now)

    @classmethod
    def new(cls, type: str, owner: str | None, **fields: Any) -> Task:
        if type not in TYPES:
            raise errors.Invalid(f"Invalid type value: {type}")
        return cls(id=str(uuid.uuid4()), type=type, owner=owner, **fields)

    def _move(self, target: str) -> None:
        if target not in TRANSITIONS[self.status]:
            raise errors.Conflict(
                f"Task status transition from {self.status} to {target} is not allowed"
            )
        self.status = target

    def begin_processing(self) -> None:
        self._move("processing")

    def succeed(self, result: dict[str, Any] | None = None, message: str = "") -> None:
        self._move("success")
        self.result = result
        self.message = message

    def fail(self, message: str) -> None:
        self._move("failure")
        self.message = message

    def ended(self, ttl: dt.timedelta) -> None:
        """Set the expiry once the task reached success or failure."""
        self.expires_at = now() + ttl
