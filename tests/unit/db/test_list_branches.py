"""The shape of a list's statement on MariaDB (``imgreg.db.query``): which pages are a UNION of
branches, and which walks are told their index. No database: the SQL is compiled only."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy.dialects import mysql, postgresql

from imgreg.db.query import build_select
from imgreg.domain.query import ListQuery

MARKER = SimpleNamespace(
    id="0" * 8 + "-0000-4000-8000-" + "0" * 12,
    name="m",
    status="active",
    disk_format="qcow2",
    container_format="bare",
    size=1,
    created_at=dt.datetime(2024, 1, 1),
    updated_at=dt.datetime(2024, 1, 2),
)


def sql(q: ListQuery, marker: object = MARKER) -> str:
    return str(build_select(q, marker).compile(dialect=mysql.dialect()))


def query(**kw: object) -> ListQuery:
    fields: dict[str, object] = {"project_id": "p1", "is_admin": False, "limit": 25}
    return ListQuery(**(fields | kw))  # type: ignore[arg-type]


def test_a_walk_after_a_marker_is_told_the_index_of_its_order() -> None:
    q = query(is_admin=True, sort=[("disk_format", "asc"), ("created_at", "asc"), ("id", "asc")])
    text = sql(q)
    assert "FORCE INDEX (ix_images_list_sort_disk_format)" in text
    assert text.count("UNION") == 2  # one range per key of the order


def test_a_projects_public_walk_newest_first_goes_down_the_visibility_index() -> None:
    text = sql(query())
    assert "FORCE INDEX (ix_images_list_visibility)" in text
    assert "image_members" in text  # the lookups are branches of their own


def test_a_projects_public_walk_by_name_goes_down_the_visibility_name_index() -> None:
    # the public images in name order, a filter (disk_format=raw) checked on each row
    order = [("name", "asc"), ("created_at", "asc"), ("id", "asc")]
    text = sql(query(sort=order, exact={"disk_format": ["raw"]}))
    assert "FORCE INDEX (ix_images_list_visibility_sort_name)" in text
    # an admin's walk has no visibility: the name index
    assert "FORCE INDEX (ix_images_list_sort_name)" in sql(query(is_admin=True, sort=order))


def test_lookups_and_filtered_lists_are_not_forced_down_a_walk() -> None:
    # a project's private images are a lookup by (owner, visibility), whatever their number
    assert "FORCE INDEX" not in sql(query(visibility="private"))
    # a filter of the list's own may have a better index than the order's
    assert "FORCE INDEX" not in sql(query(is_admin=True, exact={"owner": ["p2"]}))
    # first pages are planned freely
    assert "FORCE INDEX" not in sql(query(), marker=None)


def test_a_filter_without_an_index_of_its_own_still_walks_the_orders_index() -> None:
    # protected, a size range, a common tag: the walk from the marker, filtered row by row
    # (MariaDB read from the index's start: 11,227 rows for page 41 of admin protected=true)
    for extra in ({"exact": {"protected": [True]}}, {"ranges": [("size", "gte", 1)]}):
        assert "FORCE INDEX (ix_images_list_created_at)" in sql(query(is_admin=True, **extra))
    # a first page with such a filter too (a created_at range read from the newest image)
    first = sql(query(is_admin=True, ranges=[("created_at", "lt", dt.datetime(2022, 2, 1))]), None)
    assert "FORCE INDEX (ix_images_list_created_at)" in first


def test_a_common_tag_is_probed_per_row_and_a_rare_one_drives_the_list() -> None:
    q = query(is_admin=True, tags=["t"])
    # OFFSET 0 keeps PostgreSQL's EXISTS a probe per walked row (not a join reading every
    # tagged image): MariaDB's form of it is LIMIT 0, 2^64-1
    probed = str(build_select(q, MARKER).compile(dialect=postgresql.dialect()))
    assert "OFFSET" in probed and "images.id IN" not in probed
    assert "LIMIT %s, 18446744073709551615" in sql(q)
    driven = str(build_select(q, MARKER, driver=(None, "t")).compile(dialect=mysql.dialect()))
    assert "images.id IN (SELECT image_tags.image_id" in driven
    assert "FORCE INDEX" not in driven and "image_tags.image_id = images.id" not in driven
    # all of its images, sorted once outside (no branch ordered and cut, which PostgreSQL
    # served by walking the sort index and probing the tag)
    assert driven.count("ORDER BY") == 1
