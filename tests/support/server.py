"""``imgreg-api`` (or uWSGI serving imgreg) as a subprocess on a free port, for the e2e tests.

``start_api`` writes a config (``write_config``: the given database, a store under
``tmp_path``, notifications to the log) and starts ``imgreg-api`` (gunicorn master + 2
workers); ``start_uwsgi`` serves the same config with the shipped ``etc/imgreg-uwsgi.ini``.
Both wait until the server answers with every worker forked, and hand back a ``Server``;
``stop`` ends it (SIGTERM, then SIGKILL), ``kill`` as a power cut would. A server's stdout
(access log) and stderr (application log) go to numbered files under ``tmp_path``
(``server.log()`` reads them), so a chatty server can never block on a full pipe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.config import ETC, write_config

BIN = Path(sys.executable).parent
# the master sweeps (start-up reaper: a database commit, an fsync) before it binds; under the
# write-back of an earlier test's data that once took longer than 20 s in CI
START_TIMEOUT = 60.0
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


def worker_writing(pids: list[int], partial_dir: Path) -> int:
    """The worker that has a partial file of ``partial_dir`` open: the one serving the upload."""
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir():
            try:
                if os.readlink(fd).startswith(f"{partial_dir}/"):
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker of {pids} has a file of {partial_dir} open")


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


def hang_up(port: int) -> None:
    """Close this process's connections to ``port``, as a client would before the server
    stops: a stopping worker waits up to ``heads.STOP_LINGER`` (2 s) on each idle kept-alive
    one. requests leaves a connection's socket open while any response it answered is alive
    (urllib3 2 closes it when the response goes), so a test that stops a server mid-way,
    its responses still in its locals, held them all. A socket another thread still reads
    gets the end of its stream."""
    for obj in gc.get_objects():
        # type(), not isinstance(): a weakref.proxy (the heap holds some) whose object is
        # gone raises ReferenceError when asked for its class
        if not issubclass(type(obj), socket.socket) or obj.fileno() < 0:
            continue
        try:
            peer = obj.getpeername()
        except OSError:
            continue  # not connected, or not an inet socket
        if isinstance(peer, tuple) and peer[:2] == ("127.0.0.1", port):
            with contextlib.suppress(OSError):
                obj.shutdown(socket.SHUT_RDWR)


def stop(server: Server) -> None:
    process = server.process
    if process.poll() is not None:
        return
    workers = server.workers()
    hang_up(server.port)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        for pid in [*workers, process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


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


def start_api(
    tmp_path: Path,
    db_url: str,
    options: Mapping[str, object] | None = None,
    *,
    prefix: Sequence[str] = (),
    env: dict[str, str] | None = None,
    new_session: bool = False,
) -> Server:
    """``imgreg-api`` (2 workers) on ``db_url`` and a store under ``tmp_path``; ``options`` go
    to its configuration (``write_config``: ``group.name`` for grouped ones), ``prefix`` runs
    it under another program (strace), ``new_session`` in its own process group."""
    port = free_port()
    store_dir = tmp_path / "images"
    conf_path = write_config(
        tmp_path / "etc",
        db_url,
        store_dir,
        bind_host="127.0.0.1",
        bind_port=port,
        workers=2,
        **{"oslo_messaging_notifications.driver": "log", **(options or {})},
    )
    # under strace the master is strace's child: wait for it alone
    return launch(
        [*prefix, str(BIN / "imgreg-api"), "--config-file", str(conf_path)],
        tmp_path=tmp_path,
        port=port,
        store_dir=store_dir,
        conf_path=conf_path,
        workers=1 if prefix else 2,
        env=env,
        new_session=new_session,
    )


# -- uWSGI ------------------------------------------------------------------------------------

CHUNK_LIMIT = 16 * 1024 * 1024  # chunked-input-limit in etc/imgreg-uwsgi.ini


def shipped_ini(port: int, conf_path: Path) -> str:
    text = (ETC / "imgreg-uwsgi.ini").read_text()
    text, sockets = re.subn(r"(?m)^http-socket = .*$", f"http-socket = 127.0.0.1:{port}", text)
    text, envs = re.subn(
        r"(?m)^env = IMGREG_CONFIG_FILE=.*$", f"env = IMGREG_CONFIG_FILE={conf_path}", text
    )
    assert sockets == 1 and envs == 1, "etc/imgreg-uwsgi.ini changed shape"
    assert f"chunked-input-limit = {CHUNK_LIMIT}" in text
    return text


def start_uwsgi(tmp_path: Path, db_url: str, options: Mapping[str, object] | None = None) -> Server:
    """uWSGI with the shipped ``etc/imgreg-uwsgi.ini`` (2 processes, ``lazy-apps``) serving
    imgreg on ``db_url``, once both processes have loaded the app."""
    port = free_port()
    store_dir = tmp_path / "images"
    conf_path = write_config(
        tmp_path / "etc",
        db_url,
        store_dir,
        **{"oslo_messaging_notifications.driver": "log", **(options or {})},
    )
    ini = tmp_path / "imgreg-uwsgi.ini"
    ini.write_text(shipped_ini(port, conf_path))
    srv = launch(
        [str(BIN / "uwsgi"), "--ini", str(ini)],
        tmp_path=tmp_path,
        port=port,
        store_dir=store_dir,
        conf_path=conf_path,
    )
    try:
        wait_for_apps(srv, 2)
    except BaseException:
        stop(srv)
        raise
    return srv


def wait_for_apps(server: Server, count: int) -> None:
    """Until ``count`` workers have loaded the app. With ``lazy-apps`` each worker imports it
    after the fork: one may still be importing when another has answered, and a SIGTERM then
    interrupts the import and leaves that worker running without an app until uWSGI's reload
    mercy (60 s) runs out."""
    deadline = time.monotonic() + 60
    while server.log().count("WSGI app 0 (mountpoint='') ready") < count:
        assert time.monotonic() < deadline, f"{count} apps not loaded:\n{server.log()}"
        time.sleep(0.05)


# -- ending a server, and imgreg-manage on its configuration ---------------------------------


def kill(server: Server) -> None:
    """SIGKILL the workers and the master by pid, as a power cut would (no clean-up runs)."""
    workers = server.workers()
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGKILL)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    # A worker the master forked after we listed its children: same process group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)


def manage(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "imgreg-manage"), "--config-file", str(server.conf_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- requests to a server ----------------------------------------------------------------------


def create(server: Server) -> str:
    resp = requests.post(
        f"{server.url}/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def upload(server: Server, image_id: str, body: Any) -> requests.Response:
    return requests.put(
        f"{server.url}/v2/images/{image_id}/file",
        data=body,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )


def show(server: Server, image_id: str) -> dict[str, object]:
    resp = requests.get(f"{server.url}/v2/images/{image_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
