"""MariaDB (and Galera): every string compares exactly in a database made by the migrations, as
every new database is (collected only when IMGREG_TEST_DB is mysql or galera; SQLite and
PostgreSQL compare bytes whatever the schema says)."""

from __future__ import annotations

from sqlalchemy import create_engine

from tests.unit.db.test_migrations import NOPAD_BIN, mysql_collations


def test_every_table_and_string_column_is_utf8mb4_nopad_bin(clean_db):
    engine = create_engine(clean_db)
    try:
        with engine.connect() as conn:
            collations = mysql_collations(conn)
    finally:
        engine.dispose()
    # the database, 8 tables (alembic_version's too), 20-odd string columns
    assert len(collations) > 25, collations
    assert {k: v for k, v in collations.items() if v != NOPAD_BIN} == {}
