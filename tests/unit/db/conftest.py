"""``db`` and ``repo`` on the real database of the run (IMGREG_TEST_DB), emptied per test."""

from __future__ import annotations

import pytest

from imgreg.db.repo import SqlImageRepo
from imgreg.db.session import Database


@pytest.fixture
def db(clean_db):
    database = Database(clean_db)
    yield database
    database.dispose()


@pytest.fixture
def repo(db):
    return SqlImageRepo(db)
