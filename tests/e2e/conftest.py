"""``server``: ``imgreg-api`` as a subprocess (gunicorn master + 2 workers) on a free port,
with the session's test database and a store under ``tmp_path``.

The server's stdout (access log) and stderr (application log) go to files under ``tmp_path``
(``server.log()`` reads them), so a chatty server can never block on a full pipe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import requests

from tests.conftest import write_config
from tests.support import dbs

# The cluster (tools/cluster) always shares one PostgreSQL database between its nodes, so its
# test belongs to the PostgreSQL pass of tools/test; the other passes do not collect it.
collect_ignore = [] if dbs.KIND == "postgresql" else ["test_cluster.py", "test_cluster_rbd.py"]
# Connection handling does not depend on the database: the SQLite pass only.
if dbs.KIND != "sqlite":
    collect_ignore += [
        "test_connection_flood.py",
        "test_connection_flood_keystone.py",
        "test_head_reader.py",
    ]

BIN = Path(sys.executable).parent
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the gunicorn workers of a master)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may contain spaces, so split after the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return sorted(children)


@dataclasses.dataclass
class Server:
    url: str
    port: int
    store_dir: Path
    conf_path: Path
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def workers(self) -> list[int]:
        return child_pids(self.pid)

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def access_log(self) -> str:
        return self.stdout_path.read_text(errors="replace")


def wait_until_ready(server: Server, workers: int = 2) -> None:
    """Until ``/versions`` answers and all ``workers`` have been forked (a test that counts
    them, or kills them, must see every one)."""
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"imgreg-api exited with {server.process.returncode} before answering:\n"
                f"{server.log()}"
            )
        try:
            resp = requests.get(f"{server.url}/versions", timeout=2)
            if resp.status_code == 200 and len(server.workers()) >= workers:
                return
            last = f"{resp.status_code} {resp.text[:200]}, {len(server.workers())} worker(s)"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.1)
    pytest.fail(
        f"imgreg-api did not answer GET /versions within {START_TIMEOUT:.0f} s "
        f"(last: {last}); stderr:\n{server.log()}"
    )


def stop(server: Server) -> None:
    process = server.process
    if process.poll() is not None:
        return
    workers = server.workers()
    gc.collect()  # close connections the test dropped: gunicorn lingers 2 s on kept-alive ones
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        for pid in [*workers, process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def server_options() -> dict[str, object]:
    """More ``write_config`` options for ``server``; a test module overrides this fixture."""
    return {}


def launch(
    command: Sequence[str],
    *,
    tmp_path: Path,
    port: int,
    store_dir: Path,
    conf_path: Path,
    workers: int = 2,
    env: dict[str, str] | None = None,
    new_session: bool = False,
) -> Server:
    """Start a server process (imgreg-api, or uWSGI serving imgreg) with its output in numbered
    files under ``tmp_path``, and wait until it answers with ``workers`` workers forked; a
    server that does not get there is stopped."""
    name = Path(command[0]).name
    run = len(list(tmp_path.glob(f"{name}.*.stderr")))
    stdout_path = tmp_path / f"{name}.{run}.stdout"
    stderr_path = tmp_path / f"{name}.{run}.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=err,
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
            start_new_session=new_session,
        )
    srv = Server(
        url=f"http://127.0.0.1:{port}",
        port=port,
        store_dir=store_dir,
        conf_path=conf_path,
        process=process,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )
    try:
        wait_until_ready(srv, workers=workers)
    except BaseException:
        stop(srv)
        raise
    return srv


@pytest.fixture
def server(tmp_path: Path, clean_db: str, server_options: dict[str, object]) -> Iterator[Server]:
    port = free_port()
    store_dir = tmp_path / "images"
    conf_path = write_config(
        tmp_path / "etc",
        clean_db,
        store_dir,
        bind_host="127.0.0.1",
        bind_port=port,
        workers=2,
        **{"oslo_messaging_notifications.driver": "log", **server_options},
    )
    srv = launch(
        [str(BIN / "imgreg-api"), "--config-file", str(conf_path)],
        tmp_path=tmp_path,
        port=port,
        store_dir=store_dir,
        conf_path=conf_path,
    )
    try:
        yield srv
    finally:
        stop(srv)
