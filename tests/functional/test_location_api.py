"""API 2.17: ``POST /v2/images/{id}/locations`` (202, then a ``location_import`` task) and
``GET /v2/images/{id}/locations``, for services; what Nova's direct snapshot sends works."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from imgreg.domain.image import utcnow
from imgreg.importing import flow, location_import
from imgreg.maintenance import recovery
from imgreg.services import wiring
from tests.functional.test_location_patch import DATA, OWNER, own_url, place_blob
from tests.functional.test_recovery import set_row
from tests.support.client import UNKNOWN_ID, Client, client_with

# Nova calls as the user, with its own service token beside the user's
NOVA = {"X-Service-Identity-Status": "Confirmed", "X-Service-Roles": "service,admin"}
SHA512 = hashlib.sha512(DATA).hexdigest()


def add(client: Client, image_id: str, body: Any, **headers: str) -> Any:
    return client.post(f"/v2/images/{image_id}/locations", body, headers=headers)


def settled(client: Client, image_id: str) -> dict[str, Any]:
    assert flow.wait_idle(30)
    return client.get(f"/v2/images/{image_id}").json


def tasks_of(client: Client, image_id: str) -> list[dict[str, Any]]:
    resp = client.get(f"/v2/images/{image_id}/tasks")
    assert resp.status_int == 200, resp.text
    return resp.json["tasks"]


@pytest.fixture
def service(api: Client) -> Client:
    return api.as_(OWNER, roles="member,reader,service")


def test_nova_direct_snapshot(api, store_dir):
    """glanceclient's add_image_location: {"url", "validation_data": {}} with the user's
    token and Nova's service token; the image becomes active with its hashes."""
    user = api.as_(OWNER)
    image = user.create(name="snap")
    url = place_blob(store_dir, image["id"])
    resp = add(user, image["id"], {"url": url, "validation_data": {}}, **NOVA)
    assert resp.status_int == 202, resp.text
    shown = settled(user, image["id"])
    assert shown["status"] == "active"
    assert shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_algo"] == "sha512" and shown["os_hash_value"] == SHA512
    assert user.get(f"/v2/images/{image['id']}/file").body == DATA
    [task] = tasks_of(user, image["id"])
    assert task["type"] == "location_import" and task["status"] == "success"


def test_validation_data_is_verified(service, store_dir):
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    body = {"url": url, "validation_data": {"os_hash_algo": "sha256", "os_hash_value": "0" * 64}}
    assert add(service, image["id"], body).status_int == 202
    shown = settled(service, image["id"])
    assert shown["status"] == "queued" and shown["size"] is None and shown["checksum"] is None
    [task] = tasks_of(service, image["id"])
    assert task["status"] == "failure" and "not matched" in task["message"]
    assert not (store_dir / image["id"]).exists()  # the location's data went with it
    # the image can take a location again
    url = place_blob(store_dir, image["id"])
    good = {"os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(DATA).hexdigest()}
    assert add(service, image["id"], {"url": url, "validation_data": good}).status_int == 202
    shown = settled(service, image["id"])
    assert shown["status"] == "active" and shown["os_hash_algo"] == "sha256"


def test_without_secure_hash_validation_data_is_trusted(conf, store_dir):
    client = client_with(conf, do_secure_hash=False).as_(OWNER, roles="member,reader,service")
    image = client.create(name="x")
    url = place_blob(store_dir, image["id"])
    body = {"url": url, "validation_data": {"os_hash_algo": "sha512", "os_hash_value": SHA512}}
    assert add(client, image["id"], body).status_int == 202
    shown = settled(client, image["id"])
    assert shown["status"] == "active" and shown["os_hash_value"] == SHA512
    assert shown["checksum"] is None and shown["size"] == len(DATA)


def test_get_locations_for_services_only(api, service, store_dir):
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    assert add(service, image["id"], {"url": url}).status_int == 202
    settled(service, image["id"])
    resp = service.get(f"/v2/images/{image['id']}/locations")
    assert resp.status_int == 200 and resp.json == [{"url": url, "metadata": {}}]
    resp = api.as_(OWNER).get(f"/v2/images/{image['id']}/locations")
    assert resp.status_int == 403
    assert api.as_("p-other").get(f"/v2/images/{image['id']}/locations").status_int == 404
    assert service.get(f"/v2/images/{UNKNOWN_ID}/locations").status_int == 404


@pytest.mark.parametrize(
    ("roles", "headers", "status"),
    [
        ("member,reader", {}, 403),  # a user: no http store here
        ("reader", {}, 403),  # not even add_image_location
        ("member,reader", {"X-Service-Roles": "service"}, 403),  # service token unconfirmed
        ("member,reader,admin", {}, 202),
    ],
)
def test_who_may_add(api, store_dir, roles, headers, status):
    image = api.as_(OWNER).create(name="x")
    url = place_blob(store_dir, image["id"])
    resp = add(api.as_(OWNER, roles=roles), image["id"], {"url": url}, **headers)
    assert resp.status_int == status, resp.text
    shown = settled(api.as_(OWNER), image["id"])
    assert shown["status"] == ("active" if status == 202 else "queued")


def test_another_projects_service_sees_no_private_image(api, store_dir):
    image = api.as_(OWNER).create(name="x")
    url = place_blob(store_dir, image["id"])
    other = api.as_("p-other", roles="member,reader,service")
    assert add(other, image["id"], {"url": url}).status_int == 404


def test_unknown_image_is_404(service, store_dir):
    assert add(service, UNKNOWN_ID, {"url": own_url(store_dir, UNKNOWN_ID)}).status_int == 404


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"x"', b"null", b"\xff", b'{"url": "a\\u0000"}'])
def test_bad_json_is_400(service, store_dir, raw):
    image = service.create(name="x")
    resp = service.request(
        "POST", f"/v2/images/{image['id']}/locations", raw=raw,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert resp.status_int == 400, resp.text


def test_only_queued_images(service, store_dir):
    image = service.create(name="x")
    assert service.put_file(image["id"], DATA).status_int == 204
    resp = add(service, image["id"], {"url": own_url(store_dir, image["id"])})
    assert resp.status_int == 409, resp.text
    assert "status is active" in resp.text


def test_concurrent_adds_one_wins(service, store_dir):
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    results: list[int] = []
    barrier = threading.Barrier(6)

    def one() -> None:
        barrier.wait()
        results.append(add(service, image["id"], {"url": url}).status_int)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [202] + [409] * 5, results
    assert settled(service, image["id"])["status"] == "active"
    assert len(tasks_of(service, image["id"])) == 1


def test_post_route_allows_get_and_post_only(service, store_dir):
    image = service.create(name="x")
    resp = service.request("PUT", f"/v2/images/{image['id']}/locations", body={})
    assert resp.status_int == 405 and resp.headers["Allow"] == "GET, POST"


def test_deleted_during_import_leaves_nothing(service, store_dir: Path):
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    assert add(service, image["id"], {"url": url}).status_int == 202
    assert flow.wait_idle(30)
    assert service.delete(f"/v2/images/{image['id']}").status_int == 204
    assert not (store_dir / image["id"]).exists()


@pytest.mark.parametrize("option", [{"user_storage_quota": "1KB"}, {"image_size_cap": 1000}])
def test_storage_quota_and_size_cap_are_413(conf, store_dir, option):
    service = client_with(conf, **option).as_(OWNER, roles="member,reader,service")
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])  # 1300 bytes
    assert add(service, image["id"], {"url": url}).status_int == 413
    assert settled(service, image["id"])["status"] == "queued"


def test_a_worker_that_died_leaves_it_to_the_reaper(service, store_dir, monkeypatch):
    """The job never runs (its worker was killed): once the importing lease expired, the
    reaper puts the image back to queued without the location and fails the task."""
    monkeypatch.setattr(location_import, "submit", lambda job: None)
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    assert add(service, image["id"], {"url": url}).status_int == 202
    assert service.get(f"/v2/images/{image['id']}").json["status"] == "importing"
    assert add(service, image["id"], {"url": url}).status_int == 409  # locked meanwhile
    set_row(image["id"], upload_expires_at=utcnow() - dt.timedelta(seconds=1))
    assert recovery.reap(wiring.services()).images == [image["id"]]
    shown = service.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "queued" and shown["size"] is None
    [task] = tasks_of(service, image["id"])
    assert task["status"] == "failure" and "lease expired" in task["message"]


def test_notifications(service, store_dir, notifications):
    image = service.create(name="x")
    url = place_blob(store_dir, image["id"])
    del notifications[:]
    assert add(service, image["id"], {"url": url}).status_int == 202
    settled(service, image["id"])
    images = [(n["event_type"], n["payload"]["status"]) for n in notifications
              if n["event_type"].startswith("image.")]  # fmt: skip
    assert images == [
        ("image.update", "importing"),
        ("image.update", "active"),
        ("image.activate", "active"),
    ]
    tasks = [n["event_type"] for n in notifications if n["event_type"].startswith("task.")]
    assert tasks == ["task.create", "task.processing", "task.success"]
