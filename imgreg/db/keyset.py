"""The rows after a marker (keyset pagination), as conditions an index range serves.

"After the marker" in the order ``k1, k2, …, kn`` is ``k1 > m1 OR (k1 = m1 AND k2 > m2) OR …``
(``<`` for a descending key). One such OR is no index range: planners walk the first key's
index from the start of the marker's ``k1`` group (a low-cardinality key such as
``disk_format`` or ``status``: most of the table) or, on MariaDB, from the start of the index.
So the condition is split into its disjuncts, ``seek_branches``: each is an equality prefix
and one inequality, a single range of the ``(deleted, k1, created_at, id)`` index, and the
list is the UNION of the first page of each (``imgreg.db.query``). The disjuncts are disjoint,
so the union keeps every row once and in the same order.

Every sort column is NOT NULL (the generated ``sort_*`` columns, migration 0012), so ``=`` and
``<`` mean here what the ORDER BY means.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from imgreg.db.models import ImageRow
from imgreg.domain.query import ListQuery

# The keys whose NULL sorts as "" (0): the list orders by their generated sort_* column,
# which the (deleted, sort_*, created_at, id) indexes hold (migration 0012).
GENERATED_SORT_KEYS = frozenset({"name", "container_format", "disk_format", "size"})


def sort_column(key: str) -> ColumnElement[Any]:
    name = f"sort_{key}" if key in GENERATED_SORT_KEYS else key
    col: ColumnElement[Any] = getattr(ImageRow, name)
    return col


def order_keys(q: ListQuery) -> list[tuple[str, str]]:
    """The sort keys up to ``id``: ids are unique, so keys after it never decide an order
    (``sort=id`` is then one key, the primary key's order)."""
    keys = [key for key, _d in q.sort]
    return q.sort[: keys.index("id") + 1] if "id" in keys else q.sort


def seek_branches(q: ListQuery, marker: Any) -> list[ColumnElement[bool]]:
    """The disjuncts of "after ``marker``", the most specific first: ``k1 = m1 AND … AND
    k(i-1) = m(i-1) AND ki beyond mi`` for each key ``ki``."""
    order = order_keys(q)
    branches = []
    for i, (key, direction) in enumerate(order):
        equal = [sort_column(k) == marker_value(marker, k) for k, _d in order[:i]]
        col = sort_column(key)
        value = marker_value(marker, key)
        beyond = col < value if direction == "desc" else col > value
        branches.append(and_(*equal, beyond))
    branches.reverse()
    return branches


def after_marker(q: ListQuery, marker: Any) -> ColumnElement[bool]:
    """ "After ``marker``" as one condition: the OR of ``seek_branches``, ANDed with the implied
    ``k1 >= m1`` so that a database can range-scan an index on the first key (SQLite's
    shape)."""
    first, direction = order_keys(q)[0]
    value = marker_value(marker, first)
    column = sort_column(first)
    bound = column <= value if direction == "desc" else column >= value
    return and_(bound, or_(*seek_branches(q, marker)))


def marker_value(marker: Any, key: str) -> Any:
    value = getattr(marker, key)
    if value is None:
        return literal(0 if key == "size" else "")
    return value


def walk_index(order: list[tuple[str, str]], visibility: str | None) -> str | None:
    """The index whose walk gives ``order`` (one direction for every key): ``(deleted,
    os_hidden)``, the order's key, then the tie-breakers (migrations 0012, 0016), the
    visibility in the key's place for one visibility newest first and before ``sort_name``
    for one visibility by name (0017), the primary key for ``id``; None for another
    order."""
    keys = [key for key, _d in order]
    if len({d for _k, d in order}) != 1:
        return None
    if keys == ["id"]:
        return "PRIMARY"
    if keys == ["created_at", "id"]:
        return "ix_images_list_visibility" if visibility else "ix_images_list_created_at"
    if len(keys) == 3 and keys[1:] == ["created_at", "id"]:
        key = sort_column(keys[0]).name
        if visibility and key == "sort_name":
            return "ix_images_list_visibility_sort_name"
        return f"ix_images_list_{key}"
    return None


def with_walk_hint(
    stmt: Select[Any], order: list[tuple[str, str]], visibility: str | None
) -> Select[Any]:
    """MariaDB/MySQL: ``FORCE INDEX`` the index a seek branch walks (a list with no filter of
    its own beyond its scope: none that another index serves better). For ``deleted = false
    AND k1 > m1 ORDER BY k1, created_at, id LIMIT 25`` MariaDB 10.11 chose ``ref`` on
    ``deleted`` over the range from the marker on the same index, and read from the index's
    start up to the marker (1,967 rows for page 41 of ``sort=disk_format:asc`` at 50,000
    images, 26,430 for a member's page 41 at a million); forced, it reads the range (25)."""
    index = walk_index(order, visibility)
    if index is None:
        return stmt
    for dialect in ("mysql", "mariadb"):
        stmt = stmt.with_hint(ImageRow, f"FORCE INDEX ({index})", dialect_name=dialect)
    return stmt
