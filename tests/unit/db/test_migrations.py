"""The Alembic migrations build exactly the schema ``imgreg.db.models`` declares, and the
ones that change data keep it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from imgreg.cmd.manage import alembic_config
from imgreg.db import tasks_models as _task_models  # noqa: F401 (registers the table)
from imgreg.db.metadefs import models as _metadef_models  # noqa: F401 (registers the tables)
from imgreg.db.models import Base
from tests.support import dbs


def test_migrations_match_the_models(clean_db):
    engine = create_engine(clean_db)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert context.get_current_revision() is not None
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


# -- 0006: binary collation on MariaDB/MySQL -----------------------------------------------

NOPAD_BIN = "utf8mb4_nopad_bin"  # MariaDB's (the servers of these tests)
IMAGE_ID = "6f1c1a2e-0000-4000-8000-000000000006"
NOW = dt.datetime(2026, 1, 1)
# The rows a database at 0005 may hold: distinct under utf8mb4_general_ci too.
ROWS_AT_0005 = {
    "images": [{"id": IMAGE_ID, "name": "Alpha", "status": "queued", "visibility": "private",
                "protected": False, "os_hidden": False, "owner": "ProjA", "min_disk": 0,
                "min_ram": 0, "created_at": NOW, "updated_at": NOW, "deleted": False}],
    "image_properties": [{"image_id": IMAGE_ID, "name": "foo", "value": "Bar"},
                         {"image_id": IMAGE_ID, "name": "X_Upper", "value": "\u00e9t\u00e9"}],
    "image_tags": [{"image_id": IMAGE_ID, "value": "Tag"}],
    "image_locations": [{"image_id": IMAGE_ID, "url": "file:///images/" + IMAGE_ID}],
    "image_members": [{"image_id": IMAGE_ID, "member": "P2", "status": "pending",
                       "created_at": NOW, "updated_at": NOW, "deleted": False}],
    "quota_locks": [{"owner": "ProjA"}],
}  # fmt: skip
# What only an exact comparison keeps apart from those rows.
ROWS_AFTER = {
    "image_properties": [{"image_id": IMAGE_ID, "name": n, "value": n}
                         for n in ("FOO", "f\u00f6o", "foo ")],
    "image_tags": [{"image_id": IMAGE_ID, "value": v} for v in ("tag", "t\u00e4g", "Tag ")],
    "image_members": [{"image_id": IMAGE_ID, "member": "p2", "status": "pending",
                       "created_at": NOW, "updated_at": NOW, "deleted": False}],
    "quota_locks": [{"owner": "proja"}],
}  # fmt: skip


def _table(name: str, rows: list[dict]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in rows[0]))


def _contents(conn: sa.Connection, rows: dict[str, list[dict]]) -> dict[str, list[tuple]]:
    found = {}
    for name, expected in rows.items():
        table = _table(name, expected)
        found[name] = sorted(tuple(r) for r in conn.execute(sa.select(*table.c)))
    return found


def mysql_collations(conn: sa.Connection) -> dict[str, str]:
    """The collation of the database, of each table and of each string column."""
    schema = "SCHEMA_NAME = DATABASE()"
    found = {
        "": conn.scalar(
            sa.text(
                f"SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE {schema}"
            )
        )
    }
    here = "TABLE_SCHEMA = DATABASE()"
    for table, collation in conn.execute(
        sa.text(f"SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES WHERE {here}")
    ):
        found[table] = collation
    for table, column, collation in conn.execute(
        sa.text(
            "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
            f"WHERE {here} AND COLLATION_NAME IS NOT NULL"
        )
    ):
        found[f"{table}.{column}"] = collation
    return found  # fmt: skip


def test_0006_keeps_every_row_and_then_tells_case_accents_and_spaces_apart(tmp_path, galera_urls):
    server = galera_urls[0] if galera_urls else None
    url = dbs.create_database(str(tmp_path), server, revision="0005")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for name, rows in ROWS_AT_0005.items():
                conn.execute(sa.insert(_table(name, rows)), rows)
            before = _contents(conn, ROWS_AT_0005)
            foreign_keys = {t: sa.inspect(conn).get_foreign_keys(t) for t in ROWS_AT_0005}
        engine.dispose()
        command.upgrade(alembic_config(url), "head")
        with engine.begin() as conn:
            assert _contents(conn, ROWS_AT_0005) == before
            assert {t: sa.inspect(conn).get_foreign_keys(t) for t in ROWS_AT_0005} == foreign_keys
            if dbs.MYSQL:
                collations = mysql_collations(conn)
                assert "image_properties.name" in collations and "images.owner" in collations
                assert {k: v for k, v in collations.items() if v != NOPAD_BIN} == {}
            for name, rows in ROWS_AFTER.items():
                conn.execute(sa.insert(_table(name, rows)), rows)
        with engine.connect() as conn:
            props = _table("image_properties", ROWS_AFTER["image_properties"])
            names = conn.scalars(sa.select(props.c.name).where(props.c.name == "foo")).all()
            assert names == ["foo"]
            tags = _table("image_tags", ROWS_AFTER["image_tags"])
            assert conn.scalars(sa.select(tags.c.value).where(tags.c.value == "Tag")).all() == [
                "Tag"
            ]
    finally:
        engine.dispose()
        dbs.drop_database(url, server)
