"""``ListQuery``: what a caller asks of ``GET /v2/images``, already parsed and validated
(``imgreg.api.list_params``), scoped by the authorization layer, turned into SQL by
``imgreg.db.query``; and the sort keys and filters the grammar knows.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any

SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
# Filters that take ``eq:``/``in:`` values.
LISTABLE_COLUMNS = ("name", "id", "status", "container_format", "disk_format")
# Other ``images`` columns a query-string key matches exactly, with the value's type; any other
# unknown key is an extra property.
COLUMN_FILTERS: dict[str, type] = {
    "owner": str,
    "checksum": str,
    "os_hash_algo": str,
    "os_hash_value": str,
    "min_ram": int,
    "min_disk": int,
    "size": int,
    "virtual_size": int,
}
COMPARISONS = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@dataclasses.dataclass
class ListQuery:
    project_id: str | None
    is_admin: bool
    limit: int
    marker_id: str | None = None
    sort: list[tuple[str, str]] = dataclasses.field(
        default_factory=lambda: [("created_at", "desc"), ("id", "desc")]
    )
    visibility: str | None = None  # None = the default visible set
    member_status: str = "accepted"
    os_hidden: bool = False
    exact: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    # (column, operator name from COMPARISONS, value): created_at/updated_at, size bounds
    ranges: list[tuple[str, str, Any]] = dataclasses.field(default_factory=list)
    tags: list[str] = dataclasses.field(default_factory=list)
    properties: dict[str, str] = dataclasses.field(default_factory=dict)
