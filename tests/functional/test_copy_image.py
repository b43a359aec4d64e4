"""copy-image between two (or three) filesystem stores, and imports to several stores: the
image stays active while it is copied, Glance's ``os_glance_importing_to_stores`` and
``os_glance_failed_import``, a failure undoes this import's copies, one operation at a time
(409), and a dead copy cleared by the reaper. ``imgreg-manage check`` stays clean throughout."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg
from sqlalchemy import update

from imgreg import wsgi
from imgreg.db.models import ImageRow
from imgreg.domain import errors
from imgreg.domain.image import utcnow
from imgreg.importing import flow
from imgreg.maintenance import invariants, recovery
from imgreg.services import wiring
from tests.support.client import Client
from tests.support.multistore import blob_of

DATA = b"copied " * 4000


@pytest.fixture
def admin(stores_conf: cfg.ConfigOpts) -> Client:
    return Client(wsgi.load_app(stores_conf))


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    return tmp_path / "stores"


def show(client: Client, image_id: str) -> dict[str, Any]:
    return client.get(f"/v2/images/{image_id}").json


def copy_image(client: Client, image_id: str, stores: list[str] | None = None, **body: Any):
    if stores is not None:
        body["stores"] = stores
    return client.post(f"/v2/images/{image_id}/import", {"method": {"name": "copy-image"}, **body})


def finished(client: Client, image_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The image once no import holds it (its task property gone)."""
    deadline = time.monotonic() + timeout
    while True:
        image = show(client, image_id)
        if image["status"] not in ("importing",) and "os_glance_import_task" not in image:
            return image
        assert time.monotonic() < deadline, image
        time.sleep(0.05)


def copied(client: Client, image_id: str, stores: list[str], **body: Any) -> dict[str, Any]:
    resp = copy_image(client, image_id, stores, **body)
    assert resp.status_int == 202, resp.text
    return finished(client, image_id)


def uploaded(client: Client, data: bytes = DATA) -> str:
    image_id = client.create(name="c")["id"]
    assert client.put_file(image_id, data).status_int == 204
    return image_id


def tasks_of(client: Client, image_id: str) -> list[dict[str, Any]]:
    return client.get(f"/v2/images/{image_id}/tasks").json["tasks"]


def failing(store_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = wiring.services().store.get(store_id)

    def add(*args: Any, **kw: Any) -> Any:
        raise errors.StoreError("the store is down")

    monkeypatch.setattr(store, "add", add)


def test_copy_image_adds_a_copy_and_the_image_stays_active(admin, roots):
    image_id = uploaded(admin)
    before = show(admin, image_id)
    resp = copy_image(admin, image_id, ["slow"])
    assert resp.status_int == 202 and resp.body == b""
    assert show(admin, image_id)["status"] == "active"
    done = finished(admin, image_id)
    assert done["status"] == "active"
    assert done["stores"] == "fast,slow"
    assert done["os_glance_importing_to_stores"] == ""
    assert done["os_glance_failed_import"] == ""
    for name in ("checksum", "os_hash_value", "size"):
        assert done[name] == before[name]
    assert blob_of(roots, "slow", image_id).read_bytes() == DATA
    (task,) = tasks_of(admin, image_id)
    assert task["status"] == "success"
    assert admin.get(f"/v2/images/{image_id}/file").body == DATA
    assert invariants.check(wiring.services()) == []


def test_copy_image_refusals(admin, roots):
    image_id = uploaded(admin)
    resp = copy_image(admin, image_id, ["fast"])
    assert resp.status_int == 400
    assert "Image is already present at store 'fast'" in resp.text
    resp = copy_image(admin, image_id, ["nowhere"])
    assert resp.status_int == 409
    assert "Unknown scheme 'nowhere'" in resp.text
    assert copy_image(admin, image_id, []).status_int == 400
    resp = copy_image(admin, image_id, ["slow"], all_stores=True)
    assert resp.status_int == 400
    assert "All_stores parameter can't be used" in resp.text
    resp = admin.request(
        "POST", f"/v2/images/{image_id}/import",
        body={"method": {"name": "copy-image"}, "stores": ["slow"]},
        headers={"X-Image-Meta-Store": "slow"},
    )  # fmt: skip
    assert resp.status_int == 400
    owner = admin.as_("p-owner")
    mine = uploaded(owner)
    assert copy_image(owner, mine, ["slow"]).status_int == 403
    queued = admin.create(name="q")["id"]
    resp = copy_image(admin, queued, ["slow"])
    assert resp.status_int == 409
    finished(admin, image_id)
    assert show(admin, image_id)["stores"] == "fast"
    assert tasks_of(admin, image_id) == []
    assert not blob_of(roots, "slow", image_id).exists()


def test_copy_image_all_stores_skips_the_stores_that_have_it(admin, roots):
    image_id = uploaded(admin)
    done = copied(admin, image_id, None, all_stores=True)
    assert done["stores"] == "fast,slow"
    resp = copy_image(admin, image_id, None, all_stores=True)  # nothing left to do
    assert resp.status_int == 202
    assert len(tasks_of(admin, image_id)) == 1
    assert invariants.check(wiring.services()) == []


def test_a_failed_copy_leaves_the_image_active_and_reusable(admin, roots, monkeypatch):
    image_id = uploaded(admin)
    failing("slow", monkeypatch)
    done = copied(admin, image_id, ["slow"])
    assert done["status"] == "active" and done["stores"] == "fast"
    assert done["os_glance_failed_import"] == "slow"
    assert done["os_glance_importing_to_stores"] == ""
    (task,) = tasks_of(admin, image_id)
    assert task["status"] == "failure"
    assert not list((roots / "slow").rglob("*-*"))  # no blob, no partial file
    monkeypatch.undo()
    done = copied(admin, image_id, ["slow"])  # the next copy works
    assert done["stores"] == "fast,slow" and done["os_glance_failed_import"] == ""
    assert invariants.check(wiring.services()) == []


@pytest.mark.parametrize("store_ids", [("fast", "slow", "cold")])
def test_all_stores_must_succeed_removes_this_imports_copies(admin, roots, monkeypatch):
    image_id = uploaded(admin)
    failing("cold", monkeypatch)
    done = copied(admin, image_id, ["slow", "cold"])
    assert done["stores"] == "fast"
    assert done["os_glance_failed_import"] == "cold"
    assert not blob_of(roots, "slow", image_id).exists()
    assert invariants.check(wiring.services()) == []
    # all_stores_must_succeed false: the copies that worked stay
    done = copied(admin, image_id, ["slow", "cold"], all_stores_must_succeed=False)
    assert done["stores"] == "fast,slow"
    assert done["os_glance_failed_import"] == "cold"
    assert [t["status"] for t in tasks_of(admin, image_id)].count("success") == 1
    assert invariants.check(wiring.services()) == []


def test_one_operation_at_a_time_while_a_copy_runs(admin, roots, monkeypatch):
    """A copy in progress: a second copy-image and a DELETE from a store are 409, never 500,
    and the copy still completes."""
    image_id = uploaded(admin)
    store = wiring.services().store.get("slow")
    real_add = store.add
    entered, release = threading.Event(), threading.Event()

    def slow_add(*args: Any, **kw: Any) -> Any:
        entered.set()
        assert release.wait(20)
        return real_add(*args, **kw)

    monkeypatch.setattr(store, "add", slow_add)
    assert copy_image(admin, image_id, ["slow"]).status_int == 202
    assert entered.wait(20)
    resp = copy_image(admin, image_id, ["slow"])
    assert resp.status_int == 409, resp.text
    assert "prior operation is still in progress" in resp.text
    resp = admin.delete(f"/v2/stores/fast/{image_id}")
    assert resp.status_int in (403, 409), resp.text
    assert admin.put_file(image_id, DATA).status_int == 409
    release.set()
    done = finished(admin, image_id)
    assert done["stores"] == "fast,slow"
    # now a delete from one store and a copy back race: each answer is a clean one
    answers: list[int] = []

    def remove() -> None:
        answers.append(admin.delete(f"/v2/stores/fast/{image_id}").status_int)

    threads = [threading.Thread(target=remove) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers)[0] == 204 and all(a in (204, 403, 404, 409) for a in answers)
    finished(admin, image_id)
    assert invariants.check(wiring.services()) == []


def test_the_reaper_clears_a_dead_copy_and_the_next_copy_works(admin, roots, monkeypatch):
    """A worker killed mid-copy: the lease taken, a complete blob and a partial file in the
    target store, no location. Once the lease expired the reaper releases the image and
    removes both; a new copy-image then works and the check is clean."""
    image_id = uploaded(admin)
    store = wiring.services().store.get("slow")

    died = threading.Event()

    def dies(*args: Any, **kw: Any) -> Any:
        died.set()
        raise SystemExit  # the copy thread ends as if killed: nothing after it runs

    monkeypatch.setattr(store, "add", dies)
    monkeypatch.setattr("imgreg.importing.copy._failed", lambda *a: None)
    assert copy_image(admin, image_id, ["slow"]).status_int == 202
    # the thread has died (and its lease keeper stopped) before the patches go: undone as soon
    # as the task is "processing", the copy could still reach the real add() and succeed
    assert died.wait(20) and flow.wait_idle(20)
    assert tasks_of(admin, image_id)[0]["status"] == "processing"
    monkeypatch.undo()
    blob_of(roots, "slow", image_id).write_bytes(DATA)  # what it had written
    partial = roots / "slow" / ".partial" / f"{image_id}.abc"
    partial.parent.mkdir(exist_ok=True)
    partial.write_bytes(b"half")
    svc = wiring.services()
    assert copy_image(admin, image_id, ["slow"]).status_int == 409  # still held
    # the lease runs out
    past = utcnow() - dt.timedelta(seconds=svc.conf.upload_lease_seconds + 5)
    with svc.db.write() as session:
        session.execute(
            update(ImageRow)
            .where(ImageRow.id == image_id)
            .values(upload_expires_at=past, updated_at=past)
        )
    import os

    os.utime(partial, (past.timestamp() - 3600, past.timestamp() - 3600))
    assert any("copy to other stores past its lease" in p for p in invariants.check(svc))
    done = recovery.reap(svc)
    assert image_id in done.images
    assert not blob_of(roots, "slow", image_id).exists() and not partial.exists()
    seen = show(admin, image_id)
    assert seen["status"] == "active" and seen["stores"] == "fast"
    assert seen["os_glance_failed_import"] == "slow"
    assert "os_glance_import_task" not in seen
    assert tasks_of(admin, image_id)[0]["status"] == "failure"
    assert invariants.check(svc) == []
    done = copied(admin, image_id, ["slow"])
    assert done["stores"] == "fast,slow"
    assert invariants.check(svc) == []


# -- imports to several stores -----------------------------------------------------------------


def stage(client: Client, image_id: str, data: bytes) -> Any:
    return client.request(
        "PUT", f"/v2/images/{image_id}/stage", raw=data,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip


def direct(client: Client, image_id: str, **body: Any) -> Any:
    return client.post(
        f"/v2/images/{image_id}/import", {"method": {"name": "glance-direct"}, **body}
    )


def test_glance_direct_to_both_stores(admin, roots):
    image_id = admin.create(name="d")["id"]
    assert stage(admin, image_id, DATA).status_int == 204
    assert direct(admin, image_id, stores=["fast", "slow"]).status_int == 202
    done = finished(admin, image_id)
    assert done["status"] == "active" and done["stores"] == "fast,slow"
    assert done["os_glance_importing_to_stores"] == "" and done["os_glance_failed_import"] == ""
    for store_id in ("fast", "slow"):
        assert blob_of(roots, store_id, image_id).read_bytes() == DATA
    assert invariants.check(wiring.services()) == []


def test_glance_direct_to_another_store_moves_the_staged_data(admin, roots):
    image_id = admin.create(name="d")["id"]
    assert stage(admin, image_id, DATA).status_int == 204
    assert direct(admin, image_id, stores=["slow"]).status_int == 202
    done = finished(admin, image_id)
    assert done["status"] == "active" and done["stores"] == "slow"
    assert not blob_of(roots, "fast", image_id).exists()
    assert invariants.check(wiring.services()) == []


def test_glance_direct_all_stores_with_a_failing_store(admin, roots, monkeypatch):
    image_id = admin.create(name="d")["id"]
    assert stage(admin, image_id, DATA).status_int == 204
    failing("slow", monkeypatch)
    resp = direct(admin, image_id, all_stores=True, all_stores_must_succeed=False)
    assert resp.status_int == 202
    done = finished(admin, image_id)
    assert done["status"] == "active" and done["stores"] == "fast"
    assert done["os_glance_failed_import"] == "slow"
    assert invariants.check(wiring.services()) == []
    # must succeed (the default): the import fails, the image is queued with no data anywhere
    again = admin.create(name="e")["id"]
    assert stage(admin, again, DATA).status_int == 204
    assert direct(admin, again, all_stores=True).status_int == 202
    done = finished(admin, again)
    assert done["status"] == "queued" and done["os_glance_failed_import"] == "slow"
    assert not list(roots.glob(f"*/{again}"))
    assert invariants.check(wiring.services()) == []


def test_import_to_an_unknown_store_is_409(admin, roots):
    image_id = admin.create(name="d")["id"]
    assert stage(admin, image_id, DATA).status_int == 204
    resp = direct(admin, image_id, stores=["nowhere"])
    assert resp.status_int == 409
    resp = admin.request(
        "POST", f"/v2/images/{image_id}/import",
        body={"method": {"name": "glance-direct"}},
        headers={"X-Image-Meta-Store": "nowhere"},
    )  # fmt: skip
    assert resp.status_int == 409
    assert show(admin, image_id)["status"] == "uploading"
