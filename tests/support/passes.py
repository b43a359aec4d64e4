"""Which tests reach a database, so that ``tools/test`` runs the others once, not once per
database.

A test is a database test (marker ``db``) when

* any fixture in its closure reaches a database (``db_url`` is the root of every chain:
  ``clean_db``, ``conf``, ``app``, ``api``, ``notifications``, ``server``, ``db``, ``repo``,
  …; ``galera_urls`` picks the Galera nodes);
* or it is an e2e test (``tests/e2e/`` or marked ``e2e``): ``imgreg-api`` never runs without
  a database, and some get theirs elsewhere (``tools/cluster`` makes a PostgreSQL one);
* or its module holds ``tests.support.dbs`` itself (it makes databases of its own, or asks
  which kind the run is).

Nothing else reads ``IMGREG_TEST_DB``, so what is left behaves the same in every pass; when
in doubt a test counts as a database test.
"""

from __future__ import annotations

import types

import pytest

from tests.support import dbs

MARKER = "db"
# The fixtures through which a test reaches the run's database (every other database fixture
# depends on one of these, and item.fixturenames is the whole closure).
DATABASE_FIXTURES = frozenset({"db_url", "galera_urls"})


def uses_database(item: pytest.Item) -> bool:
    if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if "e2e" in item.path.parts or item.get_closest_marker("e2e") is not None:
        return True
    module = getattr(item, "module", None)
    return module is not None and any(
        value is dbs for value in vars(module).values() if isinstance(value, types.ModuleType)
    )


def mark_database_tests(items: list[pytest.Item]) -> None:
    for item in items:
        if uses_database(item):
            item.add_marker(MARKER)
