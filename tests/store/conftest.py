"""The store contract suite's fixtures: ``backend`` (one per driver: ``file``, ``swift``,
``s3``, ``rbd``; ``tests/support/stores.py``) and ``store`` (a fresh store of it), and the
Swift and Ceph that ``tools/swift`` and ``tools/ceph`` run once per session.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import rados

from imgreg.store import Store
from tests.support.background import tool_running
from tests.support.stores import Backend, FileBackend, RbdBackend, S3Backend, SwiftBackend

SWIFT_START_TIMEOUT = 300.0  # the first run installs Swift from apt
CEPH_START_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def ceph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``tools/ceph`` for the whole session; its ceph.json, plus ``full_pool``: a pool whose
    object quota (1) is used up, once Ceph has flagged it full."""
    with tool_running("ceph", tmp_path_factory.mktemp("ceph"), CEPH_START_TIMEOUT) as info:
        backend = RbdBackend(info, tmp_path_factory.mktemp("rbd"))
        pool = "full"
        backend.command("osd pool create", pool=pool, pg_num=8)
        backend.command("osd pool application enable", pool=pool, app="rbd")
        backend.command("osd pool set-quota", pool=pool, field="max_objects", val="1")
        cluster = rados.Rados(conffile=info["conf"])
        cluster.connect(timeout=30)
        with contextlib.closing(cluster.open_ioctx(pool)) as ioctx:
            ioctx.write_full("filler", b"x")
        cluster.shutdown()
        deadline = time.monotonic() + 60  # the manager reports usage every few seconds
        while not any(p["pool_name"] == pool and "full_quota" in p["flags_names"]
                      for p in backend.command("osd pool ls", detail="detail")):  # fmt: skip
            assert time.monotonic() < deadline, "Ceph did not flag the pool full"
            time.sleep(0.5)
        yield {**info, "full_pool": pool}


@pytest.fixture(scope="session")
def swift_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``tools/swift`` for the whole session; its swift.json."""
    with tool_running("swift", tmp_path_factory.mktemp("swift"), SWIFT_START_TIMEOUT) as info:
        yield info


BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Backend]] = {
    "file": lambda request: FileBackend(
        request.getfixturevalue("tmp_path"), request.getfixturevalue("monkeypatch")
    ),
    "swift": lambda request: SwiftBackend(request.getfixturevalue("swift_server")),
    "s3": lambda request: S3Backend(request.getfixturevalue("swift_server")),
    "rbd": lambda request: RbdBackend(
        request.getfixturevalue("ceph_server"), request.getfixturevalue("tmp_path")
    ),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param](request)


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.make()
