"""The SQL a ``ListQuery`` (``imgreg.domain.query``) becomes. Every condition is index-backed;
nothing loads more rows than the page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, false, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from imgreg.db.loading import IMAGE_COLUMNS
from imgreg.db.models import ImageRow, MemberRow, PropertyRow, TagRow
from imgreg.domain.query import COMPARISONS, ListQuery
from imgreg.domain.visibility import OPEN_VISIBILITIES, READABLE, Grant


def _owned_by(project_id: str | None) -> ColumnElement[bool]:
    """The caller's own images: none for a caller without a project (its missing project is
    no owner, neither ``NULL`` nor ``""``)."""
    return ImageRow.owner == project_id if project_id else false()


def _membership(project_id: str | None, member_status: str) -> ColumnElement[bool]:
    """Images shared with the caller's project; none for a caller without one."""
    if not project_id:
        return false()
    cond = and_(
        MemberRow.image_id == ImageRow.id,
        MemberRow.member == project_id,
        MemberRow.deleted == false(),
    )
    if member_status != "all":
        cond = and_(cond, MemberRow.status == member_status)
    return exists().where(cond)


def visibility_clause(q: ListQuery) -> ColumnElement[bool]:
    own = _owned_by(q.project_id)
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


def grant_clause(grant: Grant, project_id: str | None, is_admin: bool) -> ColumnElement[bool]:
    """One grant of ``imgreg.domain.visibility`` as SQL."""
    if grant is Grant.ADMIN:
        return true() if is_admin else false()
    if grant is Grant.UNOWNED:
        return ImageRow.owner.is_(None)
    if grant is Grant.OPEN:
        return ImageRow.visibility.in_(OPEN_VISIBILITIES)
    if grant is Grant.OWNER:
        return _owned_by(project_id)
    if grant is Grant.MEMBER:
        return and_(ImageRow.visibility == "shared", _membership(project_id, "all"))
    raise AssertionError(f"no SQL for {grant}")


def readable_clause(project_id: str | None, is_admin: bool) -> ColumnElement[bool]:
    """Images the caller may ``GET`` (``imgreg.domain.visibility.READABLE``, the rule the
    authorization layer checks), whatever the list's visibility filter: a marker must be one of
    them."""
    if is_admin:
        return true()
    return or_(*(grant_clause(g, project_id, is_admin) for g in READABLE))


# The keys whose NULL sorts as "" (0): the list orders by their generated sort_* column,
# which the (deleted, sort_*, created_at, id) indexes hold (migration 0012).
GENERATED_SORT_KEYS = frozenset({"name", "container_format", "disk_format", "size"})


def _sort_column(key: str) -> ColumnElement[Any]:
    name = f"sort_{key}" if key in GENERATED_SORT_KEYS else key
    col: ColumnElement[Any] = getattr(ImageRow, name)
    return col


def _order(q: ListQuery) -> list[tuple[str, str]]:
    """The sort keys up to ``id``: ids are unique, so keys after it never decide an order
    (``sort=id`` is then one key, the primary key's order)."""
    keys = [key for key, _d in q.sort]
    return q.sort[: keys.index("id") + 1] if "id" in keys else q.sort


def _marker_clause(q: ListQuery, marker: Any) -> ColumnElement[bool]:
    """Rows strictly after the marker in the sort order (keyset pagination).

    ``k1 > m1 OR (k1 = m1 AND k2 > m2) OR …`` (``<`` for a descending key), ANDed with the
    implied ``k1 >= m1`` so that the database can range-scan an index on the first key.
    """
    order = _order(q)
    clauses = []
    for i, (key, direction) in enumerate(order):
        equal = [_sort_column(k) == _marker_value(marker, k) for k, _d in order[:i]]
        col = _sort_column(key)
        value = _marker_value(marker, key)
        beyond = col < value if direction == "desc" else col > value
        clauses.append(and_(*equal, beyond))
    first, direction = order[0]
    value = _marker_value(marker, first)
    bound = _sort_column(first) <= value if direction == "desc" else _sort_column(first) >= value
    return and_(bound, or_(*clauses))


def _marker_value(marker: Any, key: str) -> Any:
    value = getattr(marker, key)
    if value is None:
        return literal(0 if key == "size" else "")
    return value


STATEMENT_CACHE_SIZE = 512
_first_pages: dict[str, Select[ImageRow]] = {}


def build_select(q: ListQuery, marker: Any = None) -> Select[ImageRow]:
    """The statement for one page of ``q``. First pages (no marker) repeat: the same clients
    ask for the same lists again and again, and building the statement cost more CPU than
    SQLite took to run it, so each is built once (a statement is immutable: threads share it)
    and kept among the last ``STATEMENT_CACHE_SIZE`` distinct queries."""
    if marker is not None:
        return _build_select(q, marker)
    key = repr(q)
    stmt = _first_pages.get(key)
    if stmt is None:
        stmt = _build_select(q, None)
        if len(_first_pages) >= STATEMENT_CACHE_SIZE:
            _first_pages.clear()
        _first_pages[key] = stmt
    return stmt


def _build_select(q: ListQuery, marker: Any) -> Select[ImageRow]:
    stmt = select(ImageRow).where(
        ImageRow.deleted == false(),
        ImageRow.status != "killed",
        ImageRow.os_hidden == (true() if q.os_hidden else false()),
        visibility_clause(q),
    )
    for name, values in q.exact.items():
        col = getattr(ImageRow, name)
        stmt = stmt.where(col.in_(values) if len(values) > 1 else col == values[0])
    for name, op, value in q.ranges:
        stmt = stmt.where(COMPARISONS[op](getattr(ImageRow, name), value))
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
    for key, direction in _order(q):
        col = _sort_column(key)
        order.append(col.desc() if direction == "desc" else col.asc())
    # the image columns only (what load_images reads), chosen here so that a cached statement
    # is executed as it is, with its cache key computed once
    return stmt.order_by(*order).limit(q.limit).with_only_columns(*IMAGE_COLUMNS)
