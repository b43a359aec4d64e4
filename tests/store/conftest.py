"""The store contract suite's fixtures: ``backend`` (one per driver: ``file``, ``swift``,
``s3``, ``rbd``; ``tests/support/stores.py``) and ``store`` (a fresh store of it), over the
Swift and Ceph that ``tools/swift`` and ``tools/ceph`` run once per session (``ceph_server``
and ``swift_server``, in ``tests/conftest.py``: the e2e tests of several stores use them too).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from imgreg.store import Store
from tests.support.stores import Backend, FileBackend, RbdBackend, S3Backend, SwiftBackend

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
