"""``db`` and ``repo`` on the real database of the run (IMGREG_TEST_DB), emptied per test."""

from __future__ import annotations

import pytest

from imgreg.db.repo import SqlImageRepo
from imgreg.db.session import Database
from tests.support import dbs

# test_galera.py needs the three nodes of a Galera cluster, so it belongs to the Galera pass
# (IMGREG_TEST_DB=galera); the other passes do not collect it.
collect_ignore = [] if dbs.KIND == "galera" else ["test_galera.py"]
# test_mysql_collation.py and test_mysql_generated_columns.py read MariaDB's
# information_schema and plans: the mysql and galera passes only.
if not dbs.MYSQL:
    collect_ignore += ["test_mysql_collation.py", "test_mysql_generated_columns.py"]
# test_list_plans.py reads PostgreSQL's and MariaDB's query plans over a catalog it loads (a
# Galera cluster plans as MariaDB does, and loads slower): those two passes only.
if dbs.KIND not in ("postgresql", "mysql"):
    collect_ignore.append("test_list_plans.py")


@pytest.fixture
def db(clean_db):
    database = Database(clean_db)
    yield database
    database.dispose()


@pytest.fixture
def repo(db):
    return SqlImageRepo(db)
