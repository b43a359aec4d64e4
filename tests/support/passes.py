"""Which tests reach a database, so that ``tools/test`` runs the others once, not once per
database.

A test is a database test (marker ``db``) when

* any fixture in its closure reaches a database (``db_url`` is the root of every chain:
  ``clean_db``, ``conf``, ``app``, ``api``, ``notifications``, ``server``, ``db``, ``repo``,
  …; ``galera_urls`` picks the Galera nodes);
* or it is an e2e test (``tests/e2e/`` or marked ``e2e``): ``imgreg-api`` never runs without
  a database, and some get theirs elsewhere (``tools/cluster`` makes a PostgreSQL one);
* or its module imports ``tests.support.dbs`` or anything from it (it makes databases of its
  own, or asks which kind the run is).

Nothing else reads ``IMGREG_TEST_DB``, so what is left behaves the same in every pass; when
in doubt a test counts as a database test.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

MARKER = "db"
# The fixtures through which a test reaches the run's database (every other database fixture
# depends on one of these, and item.fixturenames is the whole closure).
DATABASE_FIXTURES = frozenset({"db_url", "galera_urls"})
# Read from the module's source: a name imported from dbs (KIND, MYSQL) is a plain value.
IMPORTS_DBS = re.compile(
    r"^\s*(import\s+tests\.support\.dbs\b|from\s+tests\.support\.dbs\s"
    r"|from\s+tests\.support\s+import\s+(\([^)]*|[^\n]*)\bdbs\b)",
    re.M,
)


def uses_database(item: pytest.Item) -> bool:
    if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if "e2e" in item.path.parts or item.get_closest_marker("e2e") is not None:
        return True
    return imports_dbs(item.path)


@functools.cache
def imports_dbs(path: Path) -> bool:
    return path.suffix == ".py" and bool(IMPORTS_DBS.search(path.read_text()))


def mark_database_tests(items: list[pytest.Item]) -> None:
    for item in items:
        # ``first_pass``: a slow test whose engine-specific part another test covers in every
        # pass runs in the first pass only (its docstring names that test)
        if uses_database(item) and item.get_closest_marker("first_pass") is None:
            item.add_marker(MARKER)
