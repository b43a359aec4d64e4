"""``GET /v2/images`` over 10,000 images reads one page, not the table.

The rows go in with SQLAlchemy core (seconds, not minutes). A listener on the app's engine
counts every statement and every row its result sets hold; a page of 25 must fetch about 25
image rows plus the properties and tags of those 25 images. The default query's plan is printed
(``pytest -s``); on SQLite it must walk an index in order rather than sort a scan.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert

from imgreg.db.models import ImageRow, PropertyRow, TagRow
from imgreg.services import wiring

COUNT = 10_000
PAGE = 25
T0 = dt.datetime(2026, 1, 1)
OWNERS = ("p0", "p1", "p2", "p3", "p4")
VISIBILITIES = ("public", "private", "shared", "community")


def image_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def children_of(i: int) -> tuple[list[str], list[str]]:
    """(property names, tags) of image ``i``: properties on every 7th, tags on every 5th."""
    props = ["os_distro", "hw_arch"] if i % 7 == 0 else []
    tags = ["gold"] if i % 5 == 0 else []
    return props, tags


@pytest.fixture
def ten_thousand(api: Any) -> Any:
    images, props, tags = [], [], []
    for i in range(COUNT):
        images.append(
            {
                "id": image_id(i),
                "name": None if i % 10 == 0 else f"image-{i % 97}",
                "status": "active" if i % 13 else "queued",
                "visibility": VISIBILITIES[i % 4],
                "protected": False,
                "os_hidden": i % 50 == 49,
                "owner": OWNERS[i % 5],
                "container_format": "bare",
                "disk_format": "qcow2" if i % 2 else "raw",
                "min_disk": 0,
                "min_ram": 0,
                "size": None if i % 3 == 0 else i * 10,
                "created_at": T0 + dt.timedelta(seconds=i // 2),  # pairs tie on created_at
                "updated_at": T0 + dt.timedelta(seconds=i),
                "deleted": False,
            }
        )
        names, values = children_of(i)
        props += [{"image_id": image_id(i), "name": n, "value": f"v{i % 3}"} for n in names]
        tags += [{"image_id": image_id(i), "value": v} for v in values]
    with wiring.services().db.engine.begin() as conn:
        conn.execute(insert(ImageRow), images)
        conn.execute(insert(PropertyRow), props)
        conn.execute(insert(TagRow), tags)
    analyze()
    return api


def analyze() -> None:
    """Give the planner statistics, as a live database has (autovacuum, ``ANALYZE``)."""
    engine = wiring.services().db.engine
    with engine.begin() as conn:
        if engine.dialect.name == "mysql":
            conn.exec_driver_sql("ANALYZE TABLE images, image_properties, image_tags")
        else:
            conn.exec_driver_sql("ANALYZE")


@dataclasses.dataclass
class Executed:
    statement: str
    parameters: Any
    rows: int


class Recorder:
    """Every statement on the engine, with the number of rows its result holds."""

    def __init__(self) -> None:
        self.executed: list[Executed] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        rows = 0
        if statement.lstrip().upper().startswith("SELECT"):
            rows = cursor.rowcount
            if rows < 0:  # sqlite3 does not know until fetched: ask for the same rows' count
                counter = cursor.connection.cursor()
                counter.execute(f"SELECT COUNT(*) FROM ({statement}) AS counted", parameters)
                rows = counter.fetchone()[0]
                counter.close()
        self.executed.append(Executed(statement, parameters, rows))

    @property
    def rows(self) -> int:
        return sum(e.rows for e in self.executed)

    def list_statement(self) -> Executed:
        # (a tag's count, imgreg.db.probes, is ordered too, and is no list)
        (found,) = [
            e
            for e in self.executed
            if "ORDER BY" in e.statement.upper() and not e.statement.startswith("SELECT count(")
        ]
        return found


@pytest.fixture
def recorder(ten_thousand: Any) -> Iterator[Recorder]:
    engine = wiring.services().db.engine
    recorder = Recorder()
    event.listen(engine, "after_cursor_execute", recorder)
    yield recorder
    event.remove(engine, "after_cursor_execute", recorder)


def expected_children(ids: list[str]) -> int:
    total = 0
    for one in ids:
        props, tags = children_of(int(one.rsplit("-", 1)[1]))
        total += len(props) + len(tags)
    return total


def fetch(client: Any, recorder: Recorder, query: str) -> list[str]:
    recorder.executed.clear()
    resp = client.get(f"/v2/images{query}")
    assert resp.status_int == 200, resp.text
    ids = [i["id"] for i in resp.json["images"]]
    statements = "\n".join(f"{e.rows:6} {e.statement[:120]}" for e in recorder.executed)
    print(f"\n{query or '(default)'}: {len(recorder.executed)} statements, {recorder.rows} rows")
    print(statements)
    assert recorder.list_statement().rows == len(ids)
    # The page, its properties and tags, at most the marker row, and on PostgreSQL and MariaDB
    # one count per tag (imgreg.db.probes.rare_filter): nothing else.
    sqlite = wiring.services().db.engine.dialect.name == "sqlite"
    counts = 0 if sqlite else query.count("tag=")
    assert recorder.rows <= len(ids) + expected_children(ids) + 1 + counts
    assert recorder.rows <= PAGE + 3 * PAGE + counts
    assert len(recorder.executed) <= 8
    return ids


@pytest.mark.parametrize("as_project", [None, "p1"])
def test_a_page_reads_only_the_page(ten_thousand, recorder, as_project):
    client = ten_thousand.as_(as_project) if as_project else ten_thousand
    first = fetch(client, recorder, "")
    assert len(first) == PAGE
    second = fetch(client, recorder, f"?marker={first[-1]}")
    assert len(second) == PAGE
    assert not set(first) & set(second)
    # newest first: created_at is i // 2, ties broken by id, so descending i
    assert first + second == sorted(first + second, key=lambda i: i[-12:], reverse=True)
    if as_project is None:  # the admin sees every non-community, non-hidden image
        assert first[0] == image_id(COUNT - 2)  # 9999 is community, 9998 is shared


@pytest.mark.parametrize(
    "query",
    [
        "?sort_key=name&sort_dir=asc",
        "?sort=size:asc,name:desc",
        "?tag=gold",
        "?os_distro=ubuntu",
        "?os_distro=v1&visibility=all",
        "?size_min=50000&size_max=60000&disk_format=qcow2",
        f"?created_at=gte:{(T0 + dt.timedelta(seconds=4000)).isoformat()}Z",
        "?sort=updated_at:asc&limit=25",
        "?name=in:image-1,image-2",
    ],
)
def test_filtered_and_sorted_pages_read_only_the_page(ten_thousand, recorder, query):
    first = fetch(ten_thousand.as_("p1"), recorder, query)
    if len(first) == PAGE:
        fetch(ten_thousand.as_("p1"), recorder, f"{query}&marker={first[-1]}")


def explain(recorder: Recorder) -> list[str]:
    found = recorder.list_statement()
    engine = wiring.services().db.engine
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(prefix + found.statement, found.parameters)
        plan = [" | ".join(str(c) for c in row) for row in cursor.fetchall()]
        cursor.close()
    finally:
        raw.close()
    print(f"\n{engine.dialect.name} plan of the default list query:\n" + "\n".join(plan))
    return plan


@pytest.mark.parametrize("as_project", [None, "p1"])
def test_the_default_list_walks_an_index(ten_thousand, recorder, as_project):
    client = ten_thousand.as_(as_project) if as_project else ten_thousand
    fetch(client, recorder, "")
    plan = "\n".join(explain(recorder))
    if wiring.services().db.engine.dialect.name == "sqlite":
        assert "ix_images_list_created_at" in plan
        assert "TEMP B-TREE" not in plan
