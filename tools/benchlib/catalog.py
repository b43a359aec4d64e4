"""A big catalog, loaded in bulk straight into an imgreg or a Glance database (``tools/bench
--catalog``).

N images (default 1,000,000) with three properties each, 0-3 tags (one in 1,000 also a rare tag)
and N/10 members (on the shared images), shaped like a public cloud's catalog: most images
private snapshots of many projects (N/100 of them), a few percent public, community or shared;
some names NULL or ``""``, queued images without formats or size, a few percent deleted, hidden
or killed. The rows come from a seeded generator (the same N and seed give the same catalog) in
chunks of ``CHUNK`` images, so memory does not grow with N.

PostgreSQL takes them with ``COPY … FROM STDIN``, MariaDB/MySQL with ``LOAD DATA LOCAL
INFILE`` of a chunk's rows written to a temporary file (the server must allow
``local_infile``; PyMySQL's multi-row INSERTs, escaping every value in Python, took half an
hour for a million), SQLite with ``executemany`` in one transaction (no fsync, the journal in
memory for the load); ANALYZE at the end, so that the planner knows the table's size.
The database must exist, migrated (``imgreg-manage db sync``, or Glance's ``glance-manage
db_sync`` for ``schema="glance"``: ``catalog_glance.py``) and without images.

Needs SQLAlchemy and the database's driver (the venv's); the rest of benchlib is stdlib only,
so this module is imported only when a catalog is loaded.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

CHUNK = 10_000
IMAGE_COLUMNS = (
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "revision",
    "created_at",
    "updated_at",
    "deleted",
    "deleted_at",
)
PROPERTY_COLUMNS = ("image_id", "name", "value")
TAG_COLUMNS = ("image_id", "value")
MEMBER_COLUMNS = ("image_id", "member", "status", "created_at", "updated_at", "deleted")
TABLES = ("images", "image_properties", "image_tags", "image_members")

# (value, weight) pairs the generator draws from
# no "saving": an upload without a lease is requeued by the first imgreg-api that starts
STATUSES = (("active", 90), ("queued", 4), ("killed", 1), ("deactivated", 2))
VISIBILITIES = (("private", 80), ("public", 4), ("community", 4), ("shared", 12))
DISK_FORMATS = (("qcow2", 60), ("raw", 30), ("vmdk", 5), ("iso", 5))
CONTAINER_FORMATS = (("bare", 90), ("ovf", 5), ("docker", 5))
DISTROS = ("ubuntu", "debian", "centos", "rocky", "fedora", "windows", "cirros", "alpine")
WORDS = ("web", "db", "base", "golden", "snap", "build", "ci", "prod", "test", "gpu", "k8s")
TAGS = tuple(f"tag-{i}" for i in range(50))
RARE_TAG = "tag-rare"  # on one image in 1,000
START = dt.datetime(2020, 1, 1)


def _picker(rng: random.Random, table: Sequence[tuple[str, int]]) -> Any:
    values = [v for v, _w in table]
    weights = [w for _v, w in table]

    def pick() -> str:
        return rng.choices(values, weights)[0]

    return pick


class Catalog:
    """The rows of a catalog of ``images`` images, chunk by chunk."""

    def __init__(self, images: int, seed: int = 0) -> None:
        self.images = images
        self.projects = max(images // 100, 10)
        self.members = images // 10
        self.rng = random.Random(seed)
        # one member per shared image on average: the members go to the shared images
        self.member_chance = min(1.0, self.members / max(1.0, images * 0.12))

    def project(self) -> str:
        return f"project-{self.rng.randrange(self.projects):06d}"

    def chunks(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        rng = self.rng
        status = _picker(rng, STATUSES)
        visibility = _picker(rng, VISIBILITIES)
        disk = _picker(rng, DISK_FORMATS)
        container = _picker(rng, CONTAINER_FORMATS)
        # spread over about six years, in creation order
        step = 6 * 365 * 86400 / max(self.images, 1)
        for first in range(0, self.images, CHUNK):
            rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
            for i in range(first, min(first + CHUNK, self.images)):
                self._image(rows, i, step, status(), visibility(), disk(), container())
            yield rows

    def _image(
        self,
        rows: dict[str, list[tuple[Any, ...]]],
        i: int,
        step: float,
        status: str,
        visibility: str,
        disk: str,
        container: str,
    ) -> None:
        rng = self.rng
        image_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = START + dt.timedelta(seconds=int(i * step + rng.random() * step))
        updated = created + dt.timedelta(seconds=rng.randrange(86400 * 30))
        deleted = rng.random() < 0.05
        if deleted:
            status = "deleted"
        roll = rng.random()
        name = None if roll < 0.02 else "" if roll < 0.03 else self._name(i)
        empty = status == "queued"
        size = None if empty else rng.randrange(1 << 20, 40 << 30)
        rows["images"].append(
            (
                image_id,
                name,
                status,
                visibility,
                rng.random() < 0.1,  # protected
                rng.random() < 0.02,  # os_hidden
                self.project(),
                None if empty else container,
                None if empty else disk,
                rng.choice((0, 0, 10, 20, 40)),
                rng.choice((0, 0, 512, 1024, 2048)),
                size,
                size and size * 2,
                None if size is None else f"{rng.getrandbits(128):032x}",
                None if size is None else "sha512",
                None if size is None else f"{rng.getrandbits(512):0128x}",
                1,
                created,
                updated,
                deleted,
                updated if deleted else None,
            )
        )
        distro = rng.choice(DISTROS)
        rows["image_properties"] += [
            (image_id, "os_distro", distro),
            (image_id, "os_version", str(rng.randrange(5, 25))),
            (image_id, "architecture", "x86_64" if rng.random() < 0.9 else "aarch64"),
        ]
        rows["image_tags"] += [(image_id, t) for t in rng.sample(TAGS, rng.randrange(4))]
        if i % 1000 == 999:  # a rare tag, drawing nothing from rng (the rest stays the same)
            rows["image_tags"].append((image_id, RARE_TAG))
        if visibility == "shared" and rng.random() < self.member_chance:
            member_status = rng.choice(("accepted", "accepted", "accepted", "pending", "rejected"))
            rows["image_members"].append(
                (image_id, self.project(), member_status, created, updated, False)
            )

    def _name(self, i: int) -> str:
        rng = self.rng
        return f"{rng.choice(DISTROS)}-{rng.choice(WORDS)}-{rng.randrange(10 * self.projects)}"


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def _columns(table: str, schema: str = "imgreg") -> tuple[str, ...]:
    if schema == "glance":
        from .catalog_glance import COLUMNS

        return COLUMNS[table]
    return {
        "images": IMAGE_COLUMNS,
        "image_properties": PROPERTY_COLUMNS,
        "image_tags": TAG_COLUMNS,
        "image_members": MEMBER_COLUMNS,
    }[table]


def detect_schema(engine: Any) -> str:
    """``glance`` when ``images`` has no ``revision`` column (Glance's), else ``imgreg``."""
    from sqlalchemy import inspect

    names = {c["name"] for c in inspect(engine).get_columns("images")}
    return "imgreg" if "revision" in names else "glance"


def load_catalog(
    url: str, images: int = 1_000_000, seed: int = 0, schema: str | None = None
) -> dict[str, Any]:
    """Load the catalog into the (migrated, image-less) database at ``url``, in imgreg's
    tables or Glance's (``schema``; by default told from the ``images`` table); returns the
    row counts, the schema and the seconds the load and the ANALYZE took."""
    from sqlalchemy import create_engine

    mysql = url.startswith(("mysql", "mariadb"))
    engine = create_engine(url, connect_args={"local_infile": True} if mysql else {})
    counts = dict.fromkeys(TABLES, 0)
    started = time.perf_counter()
    try:
        schema = schema or detect_schema(engine)
        raw = engine.raw_connection()
        try:
            dialect = engine.dialect.name
            write = {"postgresql": _copy, "mysql": _insert_mysql, "mariadb": _insert_mysql}.get(
                dialect, _insert_qmark
            )
            cursor = raw.cursor()
            if dialect in ("mysql", "mariadb"):
                cursor.execute("SET unique_checks = 0, foreign_key_checks = 0")
            journal = _sqlite_begin(cursor) if dialect == "sqlite" else None
            for chunk in _rows(Catalog(images, seed), schema, dialect == "sqlite"):
                for table in TABLES:
                    write(cursor, table, chunk[table], _columns(table, schema))
                    counts[table] += len(chunk[table])
                if journal is None:
                    raw.commit()
            raw.commit()
            if journal is not None and journal.lower() != "wal":
                cursor.execute(f"PRAGMA journal_mode = {journal}")
            loaded = time.perf_counter()
            _analyze(raw, dialect)
        finally:
            raw.close()
    finally:
        engine.dispose()
    done = time.perf_counter()
    return {
        "schema": schema,
        "rows": counts,
        "load_seconds": round(loaded - started, 1),
        "analyze_seconds": round(done - loaded, 1),
    }


def _rows(catalog: Catalog, schema: str, sqlite: bool) -> Iterator[dict[str, list[Any]]]:
    """The catalog's chunks in ``schema``'s columns; on SQLite with the times as the strings
    SQLAlchemy writes (``sqlite3`` would write no microseconds, and a marker's
    ``created_at = '… .000000'`` would then match no row)."""
    for chunk in catalog.chunks():
        if schema == "glance":
            from .catalog_glance import glance_rows

            chunk = glance_rows(chunk)
        if sqlite:
            chunk = {
                t: [tuple(_sqlite_value(v) for v in row) for row in rows]
                for t, rows in chunk.items()
            }
        yield chunk


def _sqlite_value(value: Any) -> Any:
    return value.strftime(SQLITE_TIME) if isinstance(value, dt.datetime) else value


def _sqlite_begin(cursor: Any) -> str:
    """Settings for the load only (one transaction, no fsync, the journal in memory unless
    the file is in WAL mode, a big page cache); returns the journal mode to restore. WAL (imgreg's,
    persistent in the file) is kept: leaving it needs the database to itself, and a server may
    have it open."""
    cursor.execute("PRAGMA journal_mode")
    journal = str(cursor.fetchone()[0])
    if journal.lower() != "wal":
        cursor.execute("PRAGMA journal_mode = MEMORY")
    for pragma in (
        "synchronous = OFF",
        "cache_size = -262144",
        "temp_store = MEMORY",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    return journal


def _copy(cursor: Any, table: str, rows: list[tuple[Any, ...]], cols: tuple[str, ...]) -> None:
    if not rows:
        return
    with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert_mysql(
    cursor: Any, table: str, rows: list[tuple[Any, ...]], cols: tuple[str, ...]
) -> None:
    if not rows:
        return
    fd, path = tempfile.mkstemp(prefix=f"catalog-{table}-", suffix=".tsv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines("\t".join(_tsv(v) for v in row) + "\n" for row in rows)
        cursor.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
            f"({', '.join(cols)})",
            (path,),
        )
    finally:
        os.unlink(path)


def _tsv(value: Any) -> str:
    """A value as LOAD DATA's default format reads it."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _insert_qmark(
    cursor: Any, table: str, rows: list[tuple[Any, ...]], cols: tuple[str, ...]
) -> None:
    if rows:
        marks = ", ".join(["?"] * len(cols))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)


def _analyze(raw: Any, dialect: str) -> None:
    cursor = raw.cursor()
    if dialect == "postgresql":
        raw.commit()
        # VACUUM too, as autovacuum would have on a live catalog: it sets the visibility map,
        # without which every index-only scan fetches heap pages and PostgreSQL read a tag's
        # whole bitmap (then sorted it) rather than walk (value, image_id) to a LIMIT
        driver = raw.driver_connection  # the pool's proxy does not pass autocommit on
        driver.autocommit = True
        try:
            vacuum = driver.cursor()
            for table in TABLES:
                vacuum.execute(f"VACUUM ANALYZE {table}")
            vacuum.close()
        finally:
            driver.autocommit = False
    elif dialect in ("mysql", "mariadb"):
        # with the engine-independent statistics (histograms) too, which the optimizer
        # prefers to InnoDB's sampled estimates when they exist
        cursor.execute(f"ANALYZE TABLE {', '.join(TABLES)} PERSISTENT FOR ALL")
        cursor.fetchall()
    else:
        cursor.execute("ANALYZE")
    raw.commit()
