"""Crash consistency of imports: the worker SIGKILLs itself (``IMGREG_FAULT``) at three points
of a 512 MiB glance-direct import (while the stage's data arrives, once the import started,
just before it commits) and in the middle of a 512 MiB web-download. Then either the server is
restarted on the same database and store (its start-up reaper repairs), or it is left running
(the master respawns the worker; the periodic reaper repairs within a lease and a period). In
every case the image ends ``queued`` (re-importable: the test imports it again after a
restart and checks the hashes), the import's task has failed with a message saying why,
``os_glance_failed_import`` names the store, and ``imgreg-manage check`` is clean.

About 2.5 minutes of 512 MiB streams: it runs in tools/test's first pass only (SQLite). What
differs per engine, the lease of an import and the reaper taking it back, runs on every
engine in ``tests/functional/test_import.py`` (the import whose worker went silent), and the
upload crash tests of ``test_crash.py`` run in every pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.server import Server, kill, manage, start_api, wait_for
from tests.support.webserver import PIECE, CountingServer, serving

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

MiB = 1 << 20
BLOCK = os.urandom(4 * MiB)
BLOCKS = 128  # 512 MiB
LEASE = 2
PERIOD = 1


@pytest.fixture(scope="module")
def expected() -> tuple[str, str]:
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    for _ in range(BLOCKS):
        md5.update(BLOCK)
        sha512.update(BLOCK)
    return md5.hexdigest(), sha512.hexdigest()


@pytest.fixture
def web() -> Iterator[CountingServer]:
    with serving() as server:
        yield server


def launch(tmp_path: Path, db: str, web: CountingServer, env: dict[str, str] | None) -> Server:
    options = {
        "upload_lease_seconds": LEASE,
        "upload_reaper_interval": PERIOD,
        "import_filtering_opts.allow_private_addresses": "true",
        "import_filtering_opts.allowed_hosts": "127.0.0.1",
        "import_filtering_opts.allowed_ports": str(web.port),
    }
    return start_api(tmp_path, db, options, env=env, new_session=True)


def big_body() -> Iterator[bytes]:
    for _ in range(BLOCKS):
        yield BLOCK


def call(server: Server, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, f"{server.url}{path}", timeout=120, **kw)


def create(server: Server) -> str:
    body = {"disk_format": "raw", "container_format": "bare", "name": "import"}
    resp = call(server, "POST", "/v2/images", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def stage(server: Server, image_id: str) -> requests.Response:
    headers = {"Content-Type": "application/octet-stream"}
    return call(server, "PUT", f"/v2/images/{image_id}/stage", data=big_body(), headers=headers)


def start_import(server: Server, image_id: str, **method: str) -> requests.Response:
    return call(server, "POST", f"/v2/images/{image_id}/import", json={"method": method})


def image(server: Server, image_id: str) -> dict[str, Any]:
    resp = call(server, "GET", f"/v2/images/{image_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def tasks(server: Server, image_id: str) -> list[dict[str, Any]]:
    return list(call(server, "GET", f"/v2/images/{image_id}/tasks").json()["tasks"])


def killed_while(action: Any) -> None:
    """Run ``action`` (a request the worker dies in) in a thread; the connection breaks."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)


def crash(server: Server, image_id: str, point: str, web: CountingServer) -> None:
    """Drive the import into the worker's fault point ``point``."""
    if point == "mid_body":  # during the stage's data
        killed_while(lambda: stage(server, image_id))
        return
    if point == "web_mid_body":
        resp = start_import(server, image_id, name="web-download", uri=web.url("/big/512"))
        assert resp.status_code == 202, resp.text
        return
    assert stage(server, image_id).status_code == 204
    # the import runs beside the request: the worker may die at its fault point before the
    # 202 is written, and then the connection breaks instead
    try:
        resp = start_import(server, image_id, name="glance-direct")
    except requests.ConnectionError:
        return
    assert resp.status_code == 202, resp.text


def wait_for_queued(server: Server, image_id: str, timeout: float) -> dict[str, Any]:
    def queued() -> bool:
        with contextlib.suppress(requests.RequestException):
            return image(server, image_id)["status"] == "queued"
        return False

    wait_for(queued, f"image {image_id} back to queued", timeout=timeout)
    return image(server, image_id)


def imported(server: Server, image_id: str, method: str, web: CountingServer) -> dict[str, Any]:
    if method == "glance-direct":
        assert stage(server, image_id).status_code == 204
        resp = start_import(server, image_id, name="glance-direct")
    else:
        resp = start_import(server, image_id, name="web-download", uri=web.url("/big/512"))
    assert resp.status_code == 202, resp.text
    wait_for(lambda: image(server, image_id)["status"] == "active", "active", timeout=120)
    return image(server, image_id)


POINTS = {
    "mid_body": "glance-direct",
    "import_started": "glance-direct",
    "import_before_commit": "glance-direct",
    "web_mid_body": "web-download",
}


@pytest.mark.parametrize("restart", [True, False], ids=["restarted", "left-running"])
@pytest.mark.parametrize("point", list(POINTS))
def test_killed_import_ends_queued_and_reimportable(
    tmp_path, clean_db, servers, web, expected, point, restart
):
    fault = "mid_body" if point == "web_mid_body" else point
    first = launch(tmp_path, clean_db, web, {"IMGREG_FAULT": fault})
    servers.append(first)
    image_id = create(first)
    crash(first, image_id, point, web)
    if restart:
        time.sleep(0.5)  # let the worker reach its fault point
        kill(first)
        time.sleep(LEASE + 1.5)  # the lease runs out (1 s resolution of its timestamps)
        second = launch(tmp_path, clean_db, web, None)
        servers.append(second)
        after = wait_for_queued(second, image_id, timeout=10)
    else:
        second = first
        after = wait_for_queued(first, image_id, timeout=LEASE + PERIOD + 30)
    assert after["size"] is None
    assert after["checksum"] is None
    if point != "mid_body":  # an import was running: it failed, and says why
        wait_for(lambda: image(second, image_id)["os_glance_failed_import"], "failed import")
        assert "os_glance_import_task" not in image(second, image_id)
        (task,) = tasks(second, image_id)
        assert task["status"] == "failure"
        assert "went away" in task["message"]
    check = manage(second, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    if restart:
        done = imported(second, image_id, POINTS[point], web)
        if POINTS[point] == "glance-direct":
            assert (done["checksum"], done["os_hash_value"]) == expected
        else:
            data = hashlib.sha512()
            for _ in range(512 * 16):
                data.update(PIECE)
            assert done["os_hash_value"] == data.hexdigest()
        assert done["os_glance_failed_import"] == ""
        check = manage(second, "check")
        assert check.returncode == 0, check.stdout + check.stderr
