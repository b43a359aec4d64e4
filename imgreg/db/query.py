"""``ListQuery``: what a caller asks of ``GET /v2/images``, already parsed and validated, and
the SQL it becomes. Every condition is index-backed; nothing loads more rows than the page.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from imgreg.db.models import ImageRow, MemberRow, PropertyRow, TagRow

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")  # fmt: skip
EXACT_COLUMNS = ("id", "name", "status", "container_format", "disk_format", "owner", "checksum",
                 "os_hash_value", "min_ram", "min_disk")  # fmt: skip


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
    tags: list[str] = dataclasses.field(default_factory=list)
    properties: dict[str, str] = dataclasses.field(default_factory=dict)


def _membership(project_id: str | None, member_status: str) -> ColumnElement[bool]:
    cond = and_(
        MemberRow.image_id == ImageRow.id,
        MemberRow.member == (project_id or ""),
        MemberRow.deleted == false(),
    )
    if member_status != "all":
        cond = and_(cond, MemberRow.status == member_status)
    return exists().where(cond)


def visibility_clause(q: ListQuery) -> ColumnElement[bool]:
    own = ImageRow.owner == (q.project_id or "")
    shared = and_(ImageRow.visibility == "shared", _membership(q.project_id, q.member_status))
    if q.visibility == "community":
        return ImageRow.visibility == "community"
    if q.visibility in ("public", "private", "shared"):
        vis = ImageRow.visibility == q.visibility
        if q.is_admin:
            return vis
        if q.visibility == "public":
            return vis
        if q.visibility == "private":
            return and_(vis, own)
        return and_(vis, or_(own, shared))
    if q.is_admin:
        if q.visibility == "all":
            return true()
        return or_(ImageRow.visibility != "community", own)
    default = or_(ImageRow.visibility == "public", own, shared)
    if q.visibility == "all":
        return or_(default, ImageRow.visibility == "community")
    return default


def _sort_column(key: str) -> ColumnElement[Any]:
    col = getattr(ImageRow, key)
    if key in ("name", "container_format", "disk_format"):
        return func.coalesce(col, "")
    if key == "size":
        return func.coalesce(col, 0)
    return col


def _marker_clause(q: ListQuery, marker: ImageRow) -> ColumnElement[bool]:
    """Rows strictly after the marker in the sort order (keyset pagination)."""
    clauses = []
    for i, (key, direction) in enumerate(q.sort):
        equal = [_sort_column(k) == _marker_value(marker, k) for k, _d in q.sort[:i]]
        col = _sort_column(key)
        value = _marker_value(marker, key)
        beyond = col < value if direction == "desc" else col > value
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def _marker_value(marker: ImageRow, key: str) -> Any:
    value = getattr(marker, key)
    if value is None:
        return literal(0 if key == "size" else "")
    return value


def build_select(q: ListQuery, marker: ImageRow | None = None) -> Select[ImageRow]:
    stmt = select(ImageRow).where(
        ImageRow.deleted == false(),
        ImageRow.status != "killed",
        ImageRow.os_hidden == (true() if q.os_hidden else false()),
        visibility_clause(q),
    )
    for name, values in q.exact.items():
        col = getattr(ImageRow, name)
        stmt = stmt.where(col.in_(values) if len(values) > 1 else col == values[0])
    for tag in q.tags:
        stmt = stmt.where(exists().where(TagRow.image_id == ImageRow.id, TagRow.value == tag))
    for name, value in q.properties.items():
        stmt = stmt.where(
            exists().where(
                PropertyRow.image_id == ImageRow.id,
                PropertyRow.name == name,
                PropertyRow.value == value,
            )
        )
    if marker is not None:
        stmt = stmt.where(_marker_clause(q, marker))
    order = []
    for key, direction in q.sort:
        col = _sort_column(key)
        order.append(col.desc() if direction == "desc" else col.asc())
    return stmt.order_by(*order).limit(q.limit)
