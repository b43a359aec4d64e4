"""Crash consistency of copy-image between two filesystem stores: the worker copying an active
image SIGKILLs itself (``IMGREG_FAULT``) once the copy started, while the data arrives in the
target store, once the copy is renamed into place, and just before it becomes one of the
image's locations. Then the server is restarted on the same database and stores (its start-up
reaper repairs) or left running (the periodic reaper repairs within a lease and a period). In
every case the image stayed ``active`` with its one copy, the copy's task failed saying why,
``os_glance_failed_import`` names the target store, nothing is left in it, a new copy-image
works, and ``imgreg-manage check`` is clean before and after.

These run in tools/test's first pass only (``first_pass``, ~110 s a pass): what depends on the
database engine, the copy lease's compare-and-swap and the reaper clearing a dead copy, runs
on every engine in ``tests/functional/test_copy_image.py``
(``test_the_reaper_clears_a_dead_copy_and_the_next_copy_works`` and the one-operation-at-a-time
tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.multistore import SecondStore, second_store, two_stores
from tests.support.server import Server, kill, manage, start_api, stop, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

MiB = 1 << 20
DATA = os.urandom(4 * MiB) * 8  # 32 MiB: several blocks, so mid_body is mid-copy
LEASE = 2
PERIOD = 1
POINTS = ["copy_started", "mid_body", "after_rename", "copy_before_attach"]


def launch(tmp_path: Path, db: str, slow: SecondStore, env: dict[str, str] | None = None) -> Server:
    options = {
        "upload_lease_seconds": LEASE,
        "upload_reaper_interval": PERIOD,
        **two_stores(tmp_path / "stores", slow),
    }
    return start_api(tmp_path, db, options, env=env, new_session=True)


def call(server: Server, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, f"{server.url}{path}", timeout=120, **kw)


def image(server: Server, image_id: str) -> dict[str, Any]:
    resp = call(server, "GET", f"/v2/images/{image_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def copy_image(server: Server, image_id: str) -> requests.Response:
    body = {"method": {"name": "copy-image"}, "stores": ["slow"]}
    return call(server, "POST", f"/v2/images/{image_id}/import", json=body)


def checked(server: Server) -> None:
    result = manage(server, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def released(server: Server, image_id: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        seen = image(server, image_id)
        return "os_glance_import_task" not in seen and seen["os_glance_failed_import"] == "slow"
    return False


@pytest.mark.parametrize("restart", [True, False], ids=["restarted", "left-running"])
@pytest.mark.parametrize("point", POINTS)
def test_killed_copy_leaves_the_image_active_and_copyable(
    tmp_path, clean_db, servers, point, restart, request
):
    slow = second_store("file", tmp_path / "stores", request)
    killed_copy(tmp_path, clean_db, servers, point, restart, slow)


@pytest.mark.parametrize("kind", ["rbd", "s3"])
def test_killed_copy_into_rbd_or_s3(tmp_path, clean_db, servers, kind, request):
    """The same, with the copy into an RBD pool or an S3 bucket SIGKILLed once its data is
    there, before it is the image's: the reaper removes it from that store. (``mid_body`` and
    ``after_rename`` are the filesystem writer's points; what a killed RBD or S3 write leaves
    is tests/store's: ``test_reaper_removes_orphans_and_partials_and_retries_a_busy_one``,
    ``test_reaper_removes_an_abandoned_multipart_upload``.)"""
    slow = second_store(kind, tmp_path / "stores", request)
    killed_copy(tmp_path, clean_db, servers, "copy_before_attach", True, slow)


def killed_copy(
    tmp_path: Path, clean_db: str, servers: list[Server], point: str, restart: bool,
    slow: SecondStore,
) -> None:  # fmt: skip
    first = launch(tmp_path, clean_db, slow)
    servers.append(first)
    body = {"disk_format": "raw", "container_format": "bare", "name": "copied"}
    image_id = call(first, "POST", "/v2/images", json=body).json()["id"]
    headers = {"Content-Type": "application/octet-stream"}
    resp = call(first, "PUT", f"/v2/images/{image_id}/file", data=DATA, headers=headers)
    assert resp.status_code == 204, resp.text
    before = image(first, image_id)
    stop(first)

    faulty = launch(tmp_path, clean_db, slow, {"IMGREG_FAULT": point})
    servers.append(faulty)
    assert copy_image(faulty, image_id).status_code == 202
    if restart:
        time.sleep(1.0)  # let the worker reach its fault point
        kill(faulty)
        time.sleep(LEASE + 1.5)  # the lease runs out (1 s resolution of its timestamps)
        second = launch(tmp_path, clean_db, slow)
        servers.append(second)
        wait_for(lambda: released(second, image_id), "the copy released", timeout=15)
    else:
        second = faulty
        wait_for(lambda: released(second, image_id), "the copy released", LEASE + PERIOD + 30)
    after = image(second, image_id)
    assert after["status"] == "active" and after["stores"] == "fast"
    for name in ("checksum", "os_hash_value", "size"):
        assert after[name] == before[name]
    (task,) = call(second, "GET", f"/v2/images/{image_id}/tasks").json()["tasks"]
    assert task["status"] == "failure" and "went away" in task["message"]
    wait_for(lambda: not slow.holds(image_id), "the copy and any partial removed", 15)
    checked(second)
    if restart:  # the next copy works (left running: the same, once the worker is respawned)
        assert copy_image(second, image_id).status_code == 202
        wait_for(
            lambda: (
                image(second, image_id).get("stores") == "fast,slow"
                and "os_glance_import_task" not in image(second, image_id)
            ),
            "the second copy",
            timeout=60,
        )
        assert hashlib.md5(slow.read(image_id)).hexdigest() == before["checksum"]
        checked(second)
