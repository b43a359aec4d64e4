"""The reaper of another node (its own ``Services`` on the same database and store) sweeping
while an upload is in flight here: a live upload (its lease unexpired) keeps its partial file
and its blob whatever the sweep sees, and a blob that the upload commits while the sweep reads
the database is not taken for an orphan. ``tests/e2e/test_periodic_reaper.py`` kills a real
worker; ``tests/unit/db/test_sweep_lock.py`` races the lock."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from oslo_config import cfg

from imgreg import faults, wsgi
from imgreg.db import maintenance
from imgreg.maintenance import invariants, reaper, recovery
from imgreg.services import Services, wiring
from tests.support.client import DATA, Client, stored_files

LEASE = 30


@pytest.fixture
def client(conf: cfg.ConfigOpts) -> Client:
    conf.set_override("upload_lease_seconds", LEASE)
    conf.set_override("upload_reaper_interval", 1)
    wiring.reset()
    return Client(wsgi.load_app(conf))


@pytest.fixture
def other_node(client: Client, conf: cfg.ConfigOpts) -> Any:
    """Another node's services: its own engine and store object on the same database/store."""
    svc = wiring.build_services(conf)
    yield svc
    svc.db.dispose()


def at_point(monkeypatch: pytest.MonkeyPatch, point: str, action: Callable[[], None]) -> None:
    """Run ``action`` the first time the upload reaches fault point ``point``
    (``imgreg.faults``)."""
    real = faults.hit
    pending = [action]

    def hit(name: str) -> None:
        if name == point and pending:
            pending.pop()()
        real(name)

    monkeypatch.setattr(faults, "hit", hit)


@pytest.mark.parametrize("point", ["mid_body", "after_rename", "before_commit"])
def test_a_periodic_sweep_elsewhere_never_touches_a_live_upload(
    client, other_node: Services, store_dir, monkeypatch, point
):
    image_id = client.create()["id"]
    seen: list[Any] = []

    def sweep_elsewhere() -> None:
        if point == "mid_body":  # as old as a long multipart upload's: only its lease saves it
            for name in os.listdir(store_dir / ".partial"):
                old = time.time() - 3 * LEASE
                os.utime(store_dir / ".partial" / name, (old, old))
        before = stored_files(store_dir)
        seen.append((reaper.sweep(other_node, reaper.holder_name()), before))
        assert stored_files(store_dir) == before

    at_point(monkeypatch, point, sweep_elsewhere)
    assert client.put_file(image_id, DATA).status_int == 204
    ((done, files),) = seen
    assert done is not None, "the other node did not sweep"  # it held the lock and swept
    assert not done  # and reaped nothing
    if point == "mid_body":
        assert len(files) == 1 and files[0].startswith(f".partial/{image_id}."), files
    else:
        assert files == [image_id]  # renamed into place, not committed yet
    assert client.get(f"/v2/images/{image_id}/file").body == DATA
    assert invariants.check(wiring.services()) == []


def test_a_blob_committed_while_the_sweep_reads_is_not_an_orphan(
    client, other_node: Services, store_dir, monkeypatch
):
    """The upload commits right after the sweep's first read of the database, whichever of
    its reads that is: the blob it just renamed into place must survive."""
    image_id = client.create()["id"]
    arrived, go = threading.Event(), threading.Event()

    def wait_for_the_sweep() -> None:
        arrived.set()
        assert go.wait(30)

    at_point(monkeypatch, "before_commit", wait_for_the_sweep)
    results: list[int] = []
    upload = threading.Thread(
        target=lambda: results.append(client.put_file(image_id, DATA).status_int)
    )
    upload.start()
    assert arrived.wait(30)
    assert stored_files(store_dir) == [image_id]  # renamed into place, not committed

    def commit_after(read: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any) -> Any:
            result = read(*args)
            if not go.is_set():  # the first read: let the upload commit now
                go.set()
                upload.join(30)
            return result

        return wrapped

    for name in ("live_uploads", "owned_urls"):
        monkeypatch.setattr(maintenance, name, commit_after(getattr(maintenance, name)))
    reaped = recovery.reap(other_node)
    assert results == [204]
    assert reaped.blobs == []
    assert stored_files(store_dir) == [image_id]
    assert client.get(f"/v2/images/{image_id}/file").body == DATA
    assert invariants.check(wiring.services()) == []
