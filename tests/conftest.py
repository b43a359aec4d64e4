"""Shared fixtures.

* ``db_url``: a migrated database of the kind ``IMGREG_TEST_DB`` names (one per session,
  emptied after each test).
* ``galera_urls``: with ``IMGREG_TEST_DB=galera``, the server URLs of the cluster's three nodes
  (``IMGREG_TEST_GALERA_URLS``, or ``tools/galera`` started once for the session); else empty.
* ``conf``: imgreg's configuration parsed from a per-test config directory (a copy of ``etc/``
  with the test database, a store under ``tmp_path`` and the in-memory notifier); tests change
  options with ``conf.set_override`` before asking for ``app``.
* ``app``: the whole paste pipeline in process; ``api`` wraps it in a small client.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webob
from oslo_config import cfg

from imgreg import conf as imgreg_conf
from imgreg import wsgi
from tests.background import tool_running
from tests.support import dbs, passes

ROOT = Path(__file__).resolve().parent.parent
ETC = ROOT / "etc"
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


def write_config(directory: Path, db_url: str, store_dir: Path, **options: Any) -> Path:
    """A config directory like ``etc/`` for one imgreg instance; returns the .conf path."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("imgreg-api-paste.ini", "schema-image.json"):
        shutil.copy(ETC / name, directory / name)
    lines = ["[DEFAULT]", f"state_path = {directory}"]
    lines += [f"{k} = {v}" for k, v in options.items() if "." not in k]
    groups: dict[str, list[str]] = {
        "database": [f"connection = {db_url}"],
        "glance_store": [f"filesystem_store_datadir = {store_dir}"],
        "oslo_messaging_notifications": ["driver = memory"],
    }
    for key, value in options.items():
        if "." in key:  # replaces a default above (a multi-valued option would add to it)
            group, name = key.split(".", 1)
            entries = [e for e in groups.get(group, []) if not e.startswith(f"{name} = ")]
            groups[group] = [*entries, f"{name} = {value}"]
    for group, entries in groups.items():
        lines += [f"[{group}]", *entries]
    path = directory / "imgreg-api.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "images"


@pytest.fixture
def conf(tmp_path: Path, clean_db: str, store_dir: Path) -> Iterator[cfg.ConfigOpts]:
    path = write_config(tmp_path / "etc", clean_db, store_dir)
    imgreg_conf.parse(["--config-file", str(path)])
    wsgi.reset()
    yield imgreg_conf.CONF
    wsgi.reset()
    imgreg_conf.CONF.reset()


@pytest.fixture
def app(conf: cfg.ConfigOpts) -> Any:
    return wsgi.load_app(conf)


@pytest.fixture
def notifications(app: Any) -> list[dict[str, Any]]:
    return wsgi.services().notifier.sent


class Client:
    """Requests to the in-process app; ``as_`` picks the identity headers."""

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.headers = headers or {}

    def as_(self, project: str, roles: str = "member,reader", user: str = "u1") -> Client:
        return Client(
            self.app,
            {
                "X-Identity-Status": "Confirmed",
                "X-Project-Id": project,
                "X-User-Id": user,
                "X-Roles": roles,
            },
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> webob.Response:
        req = webob.Request.blank(path, method=method)
        for name, value in {**self.headers, **(headers or {})}.items():
            req.headers[name] = value
        if raw is not None:
            req.body = raw
        elif body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = req.content_type or "application/json"
        return req.get_response(self.app)

    def get(self, path: str, **kw: Any) -> webob.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> webob.Response:
        return self.request("POST", path, body=body, **kw)

    def delete(self, path: str, **kw: Any) -> webob.Response:
        return self.request("DELETE", path, **kw)

    def put_file(self, image_id: str, data: bytes, **headers: str) -> webob.Response:
        return self.request(
            "PUT",
            f"/v2/images/{image_id}/file",
            raw=data,
            headers={"Content-Type": "application/octet-stream", **headers},
        )

    def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        resp = self.post("/v2/images", body)
        assert resp.status_int == 201, resp.text
        return resp.json


@pytest.fixture
def api(app: Any) -> Client:
    return Client(app)


def stored_files(store_dir: Path) -> list[str]:
    """Every file in the store, partial uploads included."""
    if not store_dir.exists():
        return []
    return sorted(str(p.relative_to(store_dir)) for p in store_dir.rglob("*") if p.is_file())


@pytest.fixture(scope="session", autouse=True)
def _no_proxy() -> None:
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
