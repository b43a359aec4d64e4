"""The reaper on a timer inside a running server (``imgreg.maintenance.reaper``): a worker SIGKILLed
mid-upload is respawned while the master keeps serving, and within one upload lease plus one
reaper period its image is back to ``queued``, a re-upload works and ``imgreg-manage check``
is clean; no restart, no ``imgreg-manage scrub``. Under ``imgreg-api`` (gunicorn) and under
uWSGI with the shipped ``etc/imgreg-uwsgi.ini``."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.images import MiB
from tests.support.server import (
    Server,
    create,
    manage,
    show,
    start_api,
    start_uwsgi,
    stop,
    upload,
    wait_for,
    worker_writing,
)

DATA = os.urandom(5 * MiB) + b"tail"  # over one store block (4 MiB), as test_crash's
LEASE = 2  # seconds (test_crash's): the lease runs out soon after the kill
PERIOD = 1  # seconds between two reaper runs
REAPER_OPTIONS = {"upload_lease_seconds": LEASE, "upload_reaper_interval": PERIOD}
SLACK = 1.5  # the 1 s resolution of the lease's timestamps, then scheduling and polling


@pytest.fixture
def server(tmp_path: Path, clean_db: str) -> Iterator[Server]:
    """imgreg-api (2 workers) with the short lease and period, in its own process group."""
    srv = start_api(tmp_path, clean_db, REAPER_OPTIONS, new_session=True)
    yield srv
    stop(srv)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(srv.pid, signal.SIGKILL)


def test_worker_killed_mid_upload_is_reaped_without_a_restart(server):
    kill_mid_upload_and_wait_for_queued(server)


@pytest.fixture
def uwsgi_server(tmp_path: Path, clean_db: str) -> Iterator[Server]:
    """The shipped etc/imgreg-uwsgi.ini (2 processes) with the short lease and period."""
    srv = start_uwsgi(tmp_path, clean_db, REAPER_OPTIONS)
    try:
        yield srv
    finally:
        stop(srv)


@pytest.mark.first_pass  # the server's kind, not the database's: the test above runs on each
def test_under_uwsgi_too(uwsgi_server):
    kill_mid_upload_and_wait_for_queued(uwsgi_server)


def kill_mid_upload_and_wait_for_queued(server: Server) -> None:
    """SIGKILL the worker serving an upload mid-body; the server's master respawns it and
    keeps serving, and the image must be queued within a lease and a period, uploadable, and
    the store clean."""
    image_id = create(server)
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield DATA[: 4 * MiB + 1]
        release.wait(30)
        yield DATA[4 * MiB + 1 :]

    sender = threading.Thread(target=lambda: _ignore_errors(upload, server, image_id, body()))
    sender.start()
    partial = server.store_dir / ".partial"
    wait_for(
        lambda: any(p.stat().st_size >= 4 * MiB for p in partial.glob(f"{image_id}.*")),
        "4 MiB in the partial file",
    )
    victim = worker_writing(server.workers(), partial)
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    release.set()
    sender.join(30)
    assert show(server, image_id)["status"] == "saving"  # served by the other worker

    wait_for(lambda: show(server, image_id)["status"] == "queued", "queued", timeout=15)
    elapsed = time.monotonic() - killed
    print(f"kill to queued: {elapsed:.2f} s (lease {LEASE} s, period {PERIOD} s)")
    assert elapsed <= LEASE + PERIOD + SLACK
    assert server.process.poll() is None  # the same master all along
    assert victim not in server.workers()

    assert upload(server, image_id, DATA).status_code == 204
    got = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=30)
    assert (got.status_code, got.content == DATA) == (200, True)
    check = manage(server, "check")
    assert (check.returncode, check.stdout.strip()) == (0, "check: ok"), check.stdout


def _ignore_errors(send, *args) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(requests.RequestException):  # its worker was killed
        send(*args)
