"""Ending order and the reaper's sweep of stuck tasks: a location import settles its image
before it records its task's end (as Glance reverts before it fails the task), and a task its
dead worker left unfinished after the image had settled is failed by the reaper."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from imgreg.db.tasks import SqlTaskRepo
from imgreg.db.tasks_models import TaskRow
from imgreg.domain.image import utcnow
from imgreg.domain.task import now
from imgreg.importing import location_import
from imgreg.maintenance import recovery
from imgreg.services import wiring
from tests.functional.test_location_api import SHA512, add, service, settled, tasks_of
from tests.functional.test_location_patch import place_blob
from tests.functional.test_recovery import set_row
from tests.support.client import Client

__all__ = ["service"]  # the fixture


def set_task(task_id: str, **values: Any) -> None:
    with wiring.services().db.write() as session:
        session.execute(update(TaskRow).where(TaskRow.id == task_id).values(**values))


def stored_status(task_id: str) -> str:
    return SqlTaskRepo(wiring.services().db, dt.timedelta(hours=1)).get(task_id).status


def long_ago() -> dt.timedelta:
    return dt.timedelta(seconds=wiring.services().conf.upload_lease_seconds + 5)


def test_a_failed_location_import_settles_the_image_before_its_task(
    service: Client, store_dir, monkeypatch
):
    seen: list[str] = []
    release = location_import._release

    def watched(svc: Any, image_id: str, task_id: str, url: str) -> None:
        seen.append(stored_status(task_id))
        release(svc, image_id, task_id, url)

    monkeypatch.setattr(location_import, "_release", watched)
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    wrong = {"os_hash_algo": "sha512", "os_hash_value": "0" * 128}
    assert add(service, image["id"], {"url": url, "validation_data": wrong}).status_int == 202
    assert settled(service, image["id"])["status"] == "queued"
    assert seen == ["processing"]  # still running while the image went back to queued
    [task] = tasks_of(service, image["id"])
    assert task["status"] == "failure"


def stuck_after_success(service: Client, store_dir, monkeypatch) -> tuple[str, str]:
    """A location import whose worker died after the image became active, before it saved
    its task's success: (image id, task id)."""
    monkeypatch.setattr(location_import, "_save_task", lambda job, before: None)
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    body = {"url": url, "validation_data": {"os_hash_algo": "sha512", "os_hash_value": SHA512}}
    assert add(service, image["id"], body).status_int == 202
    assert settled(service, image["id"])["status"] == "active"
    [task] = tasks_of(service, image["id"])
    assert task["status"] == "processing"
    set_task(task["id"], updated_at=now() - long_ago())
    return image["id"], task["id"]


def test_the_reaper_fails_a_task_its_dead_worker_left_processing(
    service: Client, store_dir, monkeypatch
):
    image_id, task_id = stuck_after_success(service, store_dir, monkeypatch)
    assert recovery.reap(wiring.services()).stuck == []  # the image changed just now
    assert stored_status(task_id) == "processing"
    set_row(image_id, updated_at=utcnow() - long_ago())
    reaped = recovery.reap(wiring.services())
    assert reaped.stuck == [task_id]
    assert "1 stuck task(s) failed" in str(reaped)
    [task] = tasks_of(service, image_id)
    assert task["status"] == "failure"
    assert f"Image {image_id} is active" in task["message"]
    assert task["expires_at"] is not None
    assert service.get(f"/v2/images/{image_id}").json["status"] == "active"  # untouched
    assert recovery.reap(wiring.services()).stuck == []


def test_a_stuck_task_of_a_deleted_image_is_failed(service: Client, store_dir, monkeypatch):
    image_id, task_id = stuck_after_success(service, store_dir, monkeypatch)
    assert service.delete(f"/v2/images/{image_id}").status_int == 204
    assert recovery.reap(wiring.services()).stuck == [task_id]
    assert stored_status(task_id) == "failure"


def test_a_task_its_image_still_holds_is_left_to_the_lease(service: Client, store_dir, monkeypatch):
    monkeypatch.setattr(location_import, "submit", lambda job: None)  # its worker is slow
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    assert add(service, image["id"], {"url": url}).status_int == 202
    [task] = tasks_of(service, image["id"])
    set_task(task["id"], updated_at=now() - long_ago())
    set_row(image["id"], updated_at=utcnow() - long_ago())
    assert recovery.reap(wiring.services()).stuck == []
    assert stored_status(task["id"]) == "pending"
    assert service.get(f"/v2/images/{image['id']}").json["status"] == "importing"
