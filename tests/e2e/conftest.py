"""``server``: ``imgreg-api`` as a subprocess (gunicorn master + 2 workers) on a free port,
with the session's test database and a store under ``tmp_path`` (``tests/support/server.py``
starts and stops it); a module overrides ``server_options`` to configure it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import dbs
from tests.support.server import Server, start_api, stop

# The cluster (tools/cluster) always shares one PostgreSQL database between its nodes, so its
# tests belong to the PostgreSQL pass of tools/test; the other passes do not collect them.
CLUSTER_TESTS = ["test_cluster.py", "test_cluster_rbd.py", "test_resumable_drill_smoke.py"]
collect_ignore = [] if dbs.KIND == "postgresql" else list(CLUSTER_TESTS)
# Connection handling does not depend on the database: the SQLite pass only.
if dbs.KIND != "sqlite":
    collect_ignore += [
        "test_connection_flood.py",
        "test_connection_flood_keystone.py",
        "test_head_reader.py",
    ]


@pytest.fixture
def server_options() -> dict[str, object]:
    """More ``write_config`` options for ``server``; a test module overrides this fixture."""
    return {}


@pytest.fixture
def server(tmp_path: Path, clean_db: str, server_options: dict[str, object]) -> Iterator[Server]:
    srv = start_api(tmp_path, clean_db, server_options)
    try:
        yield srv
    finally:
        stop(srv)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server a (crash) test starts; whatever still runs at the end is stopped, and its
    process group killed (a worker left running after its master was killed)."""
    started: list[Server] = []
    yield started
    for server in started:
        stop(server)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
