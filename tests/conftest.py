"""Shared fixtures.

* ``db_url``: a migrated database of the kind ``IMGREG_TEST_DB`` names (one per session,
  emptied after each test).
* ``galera_urls``: with ``IMGREG_TEST_DB=galera``, the server URLs of the cluster's three nodes
  (``IMGREG_TEST_GALERA_URLS``, or ``tools/galera`` started once for the session); else empty.
* ``conf``: imgreg's configuration parsed from a per-test config directory (a copy of ``etc/``
  with the test database, a store under ``tmp_path`` and the in-memory notifier); tests change
  options with ``conf.set_override`` before asking for ``app``. ``class_conf``: the same, once
  for the tests of a class.
* ``app``: the whole paste pipeline in process; ``api`` wraps it in a small client.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from imgreg import conf as imgreg_conf
from imgreg import wsgi
from imgreg.importing import flow
from imgreg.services import wiring
from tests.support import dbs, passes
from tests.support.background import tool_running
from tests.support.client import Client
from tests.support.config import write_config
from tests.support.multistore import file_stores

GALERA_START_TIMEOUT = 180.0  # about 10 s here (mariadb-install-db, then two SSTs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{passes.MARKER}: reaches the run's database (set by tests/support/passes.py; "
        f"tools/test runs only these in its second and later database passes)",
    )


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    passes.mark_database_tests(items)


@pytest.fixture(scope="session")
def galera_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    if dbs.KIND != "galera":
        yield []
    elif dbs.GALERA_URLS:
        yield dbs.GALERA_URLS
    else:
        state = tmp_path_factory.mktemp("galera")
        with tool_running("galera", state, GALERA_START_TIMEOUT) as info:
            yield info["urls"]


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory, galera_urls: list[str]) -> Iterator[str]:
    server = galera_urls[0] if galera_urls else None  # Galera: made through node 1
    url = dbs.create_database(str(tmp_path_factory.mktemp("db")), server)
    yield url
    dbs.drop_database(url, server)


@pytest.fixture
def clean_db(db_url: str) -> Iterator[str]:
    yield db_url
    dbs.empty_tables(db_url)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "images"


@contextlib.contextmanager
def configured(
    directory: Path, db_url: str, store_dir: Path, **options: Any
) -> Iterator[cfg.ConfigOpts]:
    """imgreg's (global) configuration from a new config directory, reset at the end."""
    path = write_config(directory, db_url, store_dir, **options)
    imgreg_conf.parse(["--config-file", str(path)])
    wiring.reset()
    yield imgreg_conf.CONF
    # imports (and location imports) run on background threads: none may write while the
    # database is wiped
    assert flow.wait_idle(60), "an import still runs after 60 s"
    wiring.reset()
    imgreg_conf.CONF.reset()


@pytest.fixture
def conf(tmp_path: Path, clean_db: str, store_dir: Path) -> Iterator[cfg.ConfigOpts]:
    with configured(tmp_path / "etc", clean_db, store_dir) as conf:
        yield conf


@pytest.fixture(scope="class")
def class_conf(tmp_path_factory: pytest.TempPathFactory, db_url: str) -> Iterator[cfg.ConfigOpts]:
    """``conf`` shared by the tests of a class: one configuration, store and database for all
    of them, emptied after the last. For many small tests that each make the images they
    look at and compare what they leave (building the app and emptying the database per
    test would cost more than the test). The configuration is global: no test of the class
    may ask for ``conf`` too."""
    directory = tmp_path_factory.mktemp("class_conf")
    with configured(directory / "etc", db_url, directory / "images") as conf:
        yield conf
    dbs.empty_tables(db_url)


@pytest.fixture
def store_ids() -> tuple[str, ...]:
    """The filesystem stores ``stores_conf`` configures (a test parametrizes it for more)."""
    return ("fast", "slow")


@pytest.fixture
def stores_conf(
    tmp_path: Path, clean_db: str, store_ids: tuple[str, ...]
) -> Iterator[cfg.ConfigOpts]:
    """Like ``conf``, with several filesystem stores under ``tmp_path/stores``
    (``tests.support.multistore``)."""
    options = file_stores(tmp_path / "stores", store_ids)
    with configured(tmp_path / "etc", clean_db, tmp_path / "images", **options) as conf:
        yield conf


@pytest.fixture
def app(conf: cfg.ConfigOpts) -> Any:
    return wsgi.load_app(conf)


@pytest.fixture
def notifications(app: Any) -> list[dict[str, Any]]:
    return wiring.services().notifier.sent


@pytest.fixture
def api(app: Any) -> Client:
    return Client(app)


@pytest.fixture(scope="session", autouse=True)
def _no_proxy() -> None:
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"


SWIFT_START_TIMEOUT = 300.0  # the first run installs Swift from apt
CEPH_START_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def ceph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``tools/ceph`` for the whole session; its ceph.json, plus ``full_pool``: a pool whose
    object quota (1) is used up, once Ceph has flagged it full."""
    import rados  # apt's bindings: only where Ceph runs

    from tests.support.stores import RbdBackend

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
    """``tools/swift`` for the whole session; its swift.json, plus ``proxy_log``: the proxy
    server's log, a line per request (proxy_logging)."""
    state = tmp_path_factory.mktemp("swift")
    with tool_running("swift", state, SWIFT_START_TIMEOUT) as info:
        yield {**info, "proxy_log": str(state / "log" / "proxy.log")}


@pytest.fixture
def sync_cache_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    """A download that fills the image cache verifies the copy before it returns, instead of
    on a thread once the last byte is out (``Fill.finish_soon``), so that an in-process test
    finds the hit as soon as its request ends. ``tests/unit/cache/test_finish_soon.py`` and the
    e2e tests (real servers, ``wait_cached``) cover the threaded path."""
    from imgreg.cache.fill import Fill

    def finish_now(self: Fill) -> None:
        self.finishing = True
        self.finish()

    monkeypatch.setattr(Fill, "finish_soon", finish_now)
