"""A real Glance 33 (``tools/glance serve``) as a subprocess of a test, and
``imgreg-manage import-glance`` run against its database."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy

from tests.support.config import ROOT, write_config
from tests.support.server import BIN

START_SECONDS = 90


@dataclasses.dataclass
class Glance:
    state: Path
    db_url: str
    url: str
    process: subprocess.Popen[bytes]

    @property
    def images(self) -> Path:
        return self.state / "images"

    @property
    def conf(self) -> Path:
        return self.state / "etc" / "glance-api.conf"


@dataclasses.dataclass(frozen=True)
class GlanceDatabase:
    """One database for Glance, by the URL Glance's venv (psycopg2) and imgreg's (psycopg)
    each reach it with."""

    for_glance: str
    for_imgreg: str


@contextlib.contextmanager
def glance_database(kind: str, state: Path) -> Iterator[GlanceDatabase]:
    """A new, empty database for Glance on the ``kind`` of server the test pass runs
    (sqlite: a file under ``state``), dropped at the end."""
    if kind == "sqlite":
        url = f"sqlite:///{state}/glance.sqlite"
        yield GlanceDatabase(url, url)
        return
    name = f"glance_test_{uuid.uuid4().hex[:12]}"
    if kind == "postgresql":
        server = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        glance = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
        create, drop = f"CREATE DATABASE {name}", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    else:
        server = "mysql+pymysql://root@127.0.0.1:3306/mysql"
        glance = f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
        create, drop = f"CREATE DATABASE {name} CHARACTER SET utf8mb4", f"DROP DATABASE {name}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(create))
        imgreg = sqlalchemy.engine.make_url(server).set(database=name)
        try:
            yield GlanceDatabase(glance, imgreg.render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(sqlalchemy.text(drop))
    finally:
        admin.dispose()


def sync(state: Path, db_url: str) -> None:
    """Glance's configuration under ``state`` and its schema (``glance-manage db_sync``)."""
    subprocess.run([str(ROOT / "tools" / "glance"), "sync", str(state), db_url], check=True)


@contextlib.contextmanager
def running(state: Path, db_url: str, auth: str = "trusted") -> Iterator[Glance]:
    """Glance serving ``db_url`` with its file store in ``state/images``, until the end;
    ``auth`` "noauth": every caller is an administrator."""
    state.mkdir(parents=True, exist_ok=True)
    (state / "glance.json").unlink(missing_ok=True)
    log = (state / "tools-glance.log").open("ab")
    process = subprocess.Popen(
        [str(ROOT / "tools" / "glance"), "serve", str(state), db_url],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "IMGREG_GLANCE_AUTH": auth},
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (state / "glance.json").exists():
            assert process.poll() is None, f"tools/glance exited: {_tail(state)}"
            assert time.monotonic() < deadline, f"Glance did not start: {_tail(state)}"
            time.sleep(0.2)
        url = json.loads((state / "glance.json").read_text())["url"]
        glance = Glance(state, db_url, url, process)
        yield glance
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # uWSGI's master and worker, if still there
    process.wait()


def _tail(state: Path) -> str:
    path = state / "tools-glance.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


def imgreg_conf(directory: Path, db_url: str, images: Path) -> Path:
    """imgreg's configuration with Glance's store, by the same id ("fs") and directory."""
    return write_config(
        directory,
        db_url,
        images,
        enabled_backends="fs:file",
        **{"glance_store.default_backend": "fs", "fs.filesystem_store_datadir": str(images)},
    )


def import_glance(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "imgreg-manage"), "--config-file", str(conf), "import-glance", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def imgreg_manage(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "imgreg-manage"), "--config-file", str(conf), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def report(stdout: str) -> dict[str, str]:
    """The report's ``name: value`` lines."""
    lines = (line.partition(": ") for line in stdout.splitlines() if ": " in line)
    return {name: value for name, _sep, value in lines}
