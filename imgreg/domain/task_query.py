"""``TaskQuery``: one page of ``GET /v2/tasks``, as the API parsed it (Glance's filters
``status`` and ``type``, ``marker``, ``limit``, ``sort_key``, ``sort_dir``)."""

from __future__ import annotations

import dataclasses

SORT_KEYS = ("created_at", "updated_at", "id", "status", "type", "expires_at", "owner")


@dataclasses.dataclass(frozen=True)
class TaskQuery:
    owner: str | None  # only this owner's tasks; None: every owner's (admins)
    limit: int
    marker: str | None = None
    status: str | None = None
    type: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"
