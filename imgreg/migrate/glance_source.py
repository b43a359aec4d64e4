"""A Glance database, read: opened read-only, its tables found by reflection (never by a
copy of Glance's models), and its images read in batches with the rows they own.

Glance's schema from its 2024.1 contract head on is accepted: the ``alembic_version`` must name
a revision of 2024 or later (Glance's revisions are named ``<year>_<n>_...``), and the tables
and columns read below must be there. Nothing is ever written: SQLite is opened with
``mode=ro``, PostgreSQL and MariaDB/MySQL sessions are set read-only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, event, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

OLDEST = 2024  # the 2024.1 contract head
_TIMES = {"created_at", "updated_at", "deleted_at", "deleted"}
TABLES = {
    "images": {
        "id", "name", "size", "status", "disk_format", "container_format", "checksum", "owner",
        "min_disk", "min_ram", "protected", "virtual_size", "visibility", "os_hidden",
        "os_hash_algo", "os_hash_value", *_TIMES,
    },
    "image_properties": {"image_id", "name", "value", *_TIMES},
    "image_tags": {"image_id", "value", *_TIMES},
    "image_members": {"image_id", "member", "status", *_TIMES},
    "image_locations": {"id", "image_id", "value", "meta_data", "status", *_TIMES},
}  # fmt: skip
OPTIONAL = (
    "alembic_version", "tasks", "task_info",  # tasks: imported when there
    "metadef_namespaces", "metadef_objects", "metadef_properties", "metadef_tags",
    "metadef_resource_types", "metadef_namespace_resource_types",  # metadefs: likewise
)  # fmt: skip
CHILDREN = ("image_properties", "image_tags", "image_members", "image_locations")


class SourceError(Exception):
    """The Glance database cannot be read: a bad URL, unreachable, or not a Glance schema."""


@dataclasses.dataclass
class GlanceImage:
    """One ``images`` row of Glance's, with the rows it owns (each a column → value dict)."""

    row: dict[str, Any]
    properties: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    members: list[dict[str, Any]]
    locations: list[dict[str, Any]]


def read_only_url(url: str) -> URL:
    """``url`` parsed; a SQLite file becomes a ``mode=ro`` URI of that file."""
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        # not the URL itself in the message: it may hold a password
        raise SourceError("--glance-connection is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise SourceError("--glance-connection names no SQLite file")
        return parsed.set(
            drivername="sqlite",
            database=f"file:{parsed.database}?mode=ro",
            query={"uri": "true"},
        )
    return parsed


def open_engine(url: str) -> Engine:
    parsed = read_only_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = create_engine(parsed)
        else:
            engine = create_engine(parsed, connect_args={"connect_timeout": 10})
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
        raise SourceError(f"--glance-connection: cannot use {backend!r}: {exc}") from None

    if backend in ("mysql", "mariadb", "postgresql"):

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if backend == "postgresql":
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            else:
                cur.execute("SET SESSION TRANSACTION READ ONLY")
            cur.close()
            dbapi_conn.commit()  # a SET in a transaction rolled back later would be undone

    return engine


class GlanceSource:
    """The tables of one Glance database, reflected."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        self.meta = MetaData()
        try:
            self.meta.reflect(self.engine, only=lambda name, _m: name in {*TABLES, *OPTIONAL})
            self.version = self._version()
        except sa_exc.DBAPIError as exc:
            self.engine.dispose()
            raise SourceError(f"cannot read the Glance database: {exc.orig}") from None
        except SourceError:
            self.engine.dispose()
            raise
        self.tables = {name: self.meta.tables[name] for name in TABLES}

    def _version(self) -> str:
        missing = [name for name in (*TABLES, "alembic_version") if name not in self.meta.tables]
        if missing:
            raise SourceError(f"not a Glance database: no table {', '.join(sorted(missing))}")
        for name, columns in TABLES.items():
            have = {c.name for c in self.meta.tables[name].columns}
            if columns - have:
                raise SourceError(
                    f"not a Glance schema this tool reads: {name} has no "
                    f"{', '.join(sorted(columns - have))}"
                )
        with self.engine.connect() as conn:
            versions = list(conn.scalars(select(self.meta.tables["alembic_version"].c[0])))
        years = [int(m.group(1)) for v in versions if (m := re.match(r"(\d{4})_", str(v)))]
        if not years or max(years) < OLDEST:
            raise SourceError(
                f"the Glance database is at revision {', '.join(map(str, versions)) or 'none'}: "
                f"upgrade Glance to 2024.1 or later (glance-manage db sync) first"
            )
        return ",".join(map(str, versions))

    def image_ids(self, since: dt.datetime | None) -> list[str]:
        """Ids of the images to import: all, or those with a row (their own or one they own)
        created, updated or deleted at or after ``since``."""
        images = self.tables["images"]
        with self.engine.connect() as conn:
            if since is None:
                return sorted(conn.scalars(select(images.c.id)))
            ids = set(conn.scalars(select(images.c.id).where(touched(images, since))))
            for name in CHILDREN:
                table = self.tables[name]
                ids.update(conn.scalars(select(table.c.image_id).where(touched(table, since))))
        return sorted(ids)

    def read(self, ids: list[str]) -> Iterator[GlanceImage]:
        """The images ``ids`` (those still there), with their rows, in one transaction."""
        images = self.tables["images"]
        with self.engine.connect() as conn:
            owned: dict[str, dict[str, list[dict[str, Any]]]] = {i: {} for i in ids}
            for name in CHILDREN:
                table = self.tables[name]
                order = table.c.id if "id" in table.c else table.c.image_id
                result = conn.execute(
                    select(table).where(table.c.image_id.in_(ids)).order_by(order)
                )
                for row in result.mappings():
                    owned[row["image_id"]].setdefault(name, []).append(dict(row))
            for row in conn.execute(
                select(images).where(images.c.id.in_(ids)).order_by(images.c.id)
            ).mappings():
                rows = owned[row["id"]]
                yield GlanceImage(
                    dict(row),
                    rows.get("image_properties", []),
                    rows.get("image_tags", []),
                    rows.get("image_members", []),
                    rows.get("image_locations", []),
                )

    def close(self) -> None:
        self.engine.dispose()


def touched(table: Table, since: dt.datetime) -> Any:
    return or_(
        table.c.created_at >= since, table.c.updated_at >= since, table.c.deleted_at >= since
    )
