"""How a list's tag and property filters are matched on PostgreSQL and MariaDB
(``imgreg.db.query``): a rare tag drives the list from its own index; otherwise the walk in
the list's order probes each row.

A page of a list filtered by a tag is found one of two ways. A walk of the sort index probing
each image's tags (``image_tags``' primary key) reads about 25 / (the share of images kept)
rows: few for a common tag, the whole index for a rare one. The tag's own index (``(value,
image_id)``, migration 0015) reads every image that has it, then sorts them: few for a rare
tag, a third of the catalog for a common one. Left to themselves the planners misjudged it
(PostgreSQL hashed all 1,474 images of a 3 % tag and every public image, and MariaDB read the
1,474 from the tag's index, at 50,000 images; PostgreSQL read all 50,000 ``os_distro`` rows for
``os_distro=ubuntu&sort=name``), so the list decides: ``rare_filter`` counts each tag's images
through its index, never past ``RARE + 1``; a rare one (at most ``RARE``) drives the list, and
otherwise every tag and property filter is a probe per row of the walk
(``matched(per_row=True)``).

A property has no index on its value (``image_properties.value`` is TEXT: PostgreSQL's
B-tree refuses entries over ~2.7 kB, so an index on it would make a long value a failed
write), so a property is always probed: a rare property value is a long walk.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, and_, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from imgreg.db.models import ImageRow, PropertyRow, TagRow
from imgreg.domain.query import ListQuery

# At most this many images: read them all from the tag's index and sort them. Above it, a
# walk reads 25 / (share kept) rows: at a million images up to 25,000 for a tag just above
# it, 833 for a 3 % tag. (Between the two, 0.1-1 % of a million, neither reads about a page:
# an index of (tag, sort key) would, and is not made.)
RARE = 1_000
COUNTED_TAGS = 8

# A tag (None, value) or a property (name, value): one of a list's filters on the join tables.
Filter = tuple[str | None, str]


def join_filters(q: ListQuery) -> list[Filter]:
    return [(None, tag) for tag in q.tags] + list(q.properties.items())


def _rows(f: Filter) -> Any:
    name, value = f
    if name is None:
        return select(TagRow.image_id).where(TagRow.value == value)
    return select(PropertyRow.image_id).where(PropertyRow.name == name, PropertyRow.value == value)


def rare_filter(conn: Connection, q: ListQuery) -> Filter | None:
    """The rarest of ``q``'s tags if it is on at most ``RARE`` images (each counted through
    its index, reading at most ``RARE + 1`` entries), else None. Only the first
    ``COUNTED_TAGS`` distinct tags are counted: a query string may hold a thousand ``tag=``
    (8 KiB), and a count each would make one request read a million index entries."""
    best: tuple[int, Filter] | None = None  # (count, filter)
    tags = list(dict.fromkeys(join_filters(q)[: len(q.tags)]))
    for f in tags[:COUNTED_TAGS]:
        count: int = conn.execute(count_statement(f)).scalar_one()
        if count <= RARE and (best is None or count < best[0]):
            best = (count, f)
    return None if best is None else best[1]


def count_statement(f: Filter) -> Select[Any]:
    """How many images have ``f``, counted up to ``RARE + 1``: in ``image_id`` order, so that
    the count walks ``(value, image_id)`` and stops there (migration 0015) instead of reading
    a bitmap of every entry first."""
    found = _rows(f).order_by(TagRow.image_id if f[0] is None else PropertyRow.image_id)
    return select(func.count()).select_from(found.limit(RARE + 1).subquery())


def driven(f: Filter) -> ColumnElement[bool]:
    """The images with ``f``, looked up through its index."""
    return ImageRow.id.in_(_rows(f))


def matched(f: Filter, *, per_row: bool) -> ColumnElement[bool]:
    """The image has ``f``. ``per_row``: as a probe of the join table's primary key for each
    row the walk reads; the ``OFFSET 0`` keeps PostgreSQL from turning the EXISTS into a join
    (which it hashed: every image with the tag read, then sorted)."""
    name, value = f
    if name is None:
        cond = and_(TagRow.image_id == ImageRow.id, TagRow.value == value)
        sub = select(TagRow.image_id).where(cond)
    else:
        cond = and_(
            PropertyRow.image_id == ImageRow.id,
            PropertyRow.name == name,
            PropertyRow.value == value,
        )
        sub = select(PropertyRow.image_id).where(cond)
    if per_row:
        return sub.offset(0).exists()
    return exists().where(cond)
