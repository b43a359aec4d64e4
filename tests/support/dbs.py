"""The test database: SQLite, PostgreSQL, MariaDB or a MariaDB Galera cluster, chosen by
``IMGREG_TEST_DB`` (sqlite, postgresql, mysql, galera).

For PostgreSQL and MariaDB a fresh database is created for the test session on the server
(``IMGREG_TEST_PG_URL`` / ``IMGREG_TEST_MYSQL_URL``, defaulting to the local servers) and
dropped at the end. Galera is MariaDB to the tests: the database is made through node 1 of
``IMGREG_TEST_GALERA_URLS`` (comma-separated server URLs), or, when that is not set, of a
three-node cluster ``tools/galera`` runs for the session (``galera_urls`` in tests/conftest.py).
The schema always comes from the Alembic migrations.
"""

from __future__ import annotations

import os
import uuid

from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from imgreg.cmd.manage import alembic_config, db_sync

KIND = os.environ.get("IMGREG_TEST_DB", "sqlite")
MYSQL = KIND in ("mysql", "galera")
GALERA_URLS = [u for u in os.environ.get("IMGREG_TEST_GALERA_URLS", "").split(",") if u]
SERVERS = {
    "postgresql": os.environ.get(
        "IMGREG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get(
        "IMGREG_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/mysql?charset=utf8mb4"
    ),
}
TABLES = (
    "sweep_locks",
    "tasks",
    "metadef_namespace_resource_types",
    "metadef_resource_types",
    "metadef_objects",
    "metadef_properties",
    "metadef_tags",
    "metadef_namespaces",
    "image_members",
    "image_locations",
    "image_tags",
    "image_properties",
    "images",
)
ENGINES: dict[str, Engine] = {}  # engine(url)


def create_database(tmp_dir: str, server_url: str | None = None, revision: str = "head") -> str:
    """Make an empty database migrated to ``revision`` and return its URL; ``server_url``
    (Galera's node 1) in place of the kind's server."""
    if KIND == "sqlite":
        url = f"sqlite:///{tmp_dir}/imgreg-test.sqlite"
    elif server_url or KIND in SERVERS:
        name = f"imgreg_test_{uuid.uuid4().hex[:12]}"
        server = make_url(server_url or SERVERS[KIND])
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            charset = " CHARACTER SET utf8mb4" if MYSQL else ""
            conn.execute(text(f"CREATE DATABASE {name}{charset}"))
        admin.dispose()
        url = server.set(database=name).render_as_string(hide_password=False)
    else:
        raise RuntimeError(f"IMGREG_TEST_DB={KIND!r}: use sqlite, postgresql, mysql or galera")
    if revision == "head":
        db_sync(url)
    else:
        command.upgrade(alembic_config(url), revision)
    return url


def engine(url: str) -> Engine:
    """The tests' own engine for the database at ``url`` (emptying it, reading it back), made
    once: a new engine per test cost a connection each time (40 ms on MariaDB)."""
    if url not in ENGINES:
        ENGINES[url] = create_engine(url, pool_pre_ping=True)
    return ENGINES[url]


def drop_database(url: str, server_url: str | None = None) -> None:
    if url in ENGINES:
        ENGINES.pop(url).dispose()
    if KIND == "sqlite":
        return
    parsed = make_url(url)
    admin = create_engine(server_url or SERVERS[KIND], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if KIND == "postgresql":
            conn.execute(text(f"DROP DATABASE IF EXISTS {parsed.database} WITH (FORCE)"))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS {parsed.database}"))
    admin.dispose()


def empty_tables(url: str) -> None:
    with engine(url).begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
