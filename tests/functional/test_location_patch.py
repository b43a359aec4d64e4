"""PATCH ``/locations`` with ``show_multiple_locations`` (Glance's legacy location API): add,
replace and remove under Glance's rules, every URL only the image's own blob in a configured
store, and all of it atomic with the rest of the patch."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import Client, client_with

OWNER = "p-owner"
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
DATA = b"location data" * 100


def patch(client: Client, image_id: str, ops: list[dict[str, Any]]) -> Any:
    return client.request("PATCH", f"/v2/images/{image_id}", body=ops, headers=PATCH)


def own_url(store_dir: Path, image_id: str) -> str:
    return f"file://{store_dir.resolve()}/{image_id}"


def place_blob(store_dir: Path, image_id: str, data: bytes = DATA) -> str:
    """Data in the store under the image's name, as Nova's direct snapshot leaves it."""
    store_dir.mkdir(parents=True, exist_ok=True)
    (store_dir / image_id).write_bytes(data)
    return own_url(store_dir, image_id)


@pytest.fixture
def owner(conf: Any) -> Client:
    return client_with(conf, show_multiple_locations=True).as_(OWNER)


def test_locations_invisible_keeps_403(api, store_dir):
    owner = api.as_(OWNER)
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    for op in (
        {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}},
        {"op": "replace", "path": "/locations", "value": [{"url": url, "metadata": {}}]},
        {"op": "remove", "path": "/locations/0"},
    ):
        resp = patch(owner, image["id"], [op])
        assert resp.status_int == 403, resp.text
        assert "locations are invisible" in resp.text
    assert owner.get(f"/v2/images/{image['id']}").json["status"] == "queued"


def test_add_own_blob_activates_queued_image(owner, store_dir):
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    resp = patch(owner, image["id"], [
        {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {"k": "v"}}}
    ])  # fmt: skip
    assert resp.status_int == 200, resp.text
    shown = resp.json
    assert shown["status"] == "active"
    assert shown["size"] == len(DATA)
    assert shown["locations"] == [{"url": url, "metadata": {"k": "v"}}]
    assert owner.get(f"/v2/images/{image['id']}/file").body == DATA


def test_validation_data_seeds_hashes(owner, store_dir):
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    value = {
        "url": url,
        "metadata": {},
        "validation_data": {
            "checksum": hashlib.md5(DATA).hexdigest(),
            "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(DATA).hexdigest(),
        },
    }
    resp = patch(owner, image["id"], [{"op": "add", "path": "/locations/-", "value": value}])
    assert resp.status_int == 200, resp.text
    assert resp.json["checksum"] == hashlib.md5(DATA).hexdigest()
    assert resp.json["os_hash_value"] == hashlib.sha512(DATA).hexdigest()


@pytest.mark.parametrize(
    ("validation", "status"),
    [
        ({"os_hash_algo": "sha256", "os_hash_value": "ab" * 32}, 409),  # not hashing_algorithm
        ({"os_hash_algo": "sha512", "os_hash_value": "zz" * 64}, 409),  # not hex
        ({"os_hash_algo": "sha512", "os_hash_value": "ab" * 10}, 409),  # wrong length
        ({"os_hash_algo": "sha512"}, 400),  # algo without value
        ({"os_hash_algo": "sha512", "os_hash_value": "ab" * 64, "x": "y"}, 400),
        ({"os_hash_algo": "sha512", "os_hash_value": "ab" * 64, "checksum": "ab"}, 400),
    ],
)
def test_bad_validation_data(owner, store_dir, validation, status):
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    value = {"url": url, "metadata": {}, "validation_data": validation}
    resp = patch(owner, image["id"], [{"op": "add", "path": "/locations/-", "value": value}])
    assert resp.status_int == status, resp.text
    shown = owner.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "queued" and shown["locations"] == []


def test_validation_data_conflicting_with_image_is_409(owner, store_dir):
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    resp = patch(owner, image["id"], [
        {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    ])  # fmt: skip
    assert resp.status_int == 200
    value = {
        "url": url,
        "metadata": {},
        "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "ab" * 64},
    }
    resp = patch(owner, image["id"], [{"op": "replace", "path": "/locations", "value": [value]}])
    assert resp.status_int == 409, resp.text


def test_replace_with_empty_list_is_403(owner, store_dir):
    image = owner.create(name="x")
    resp = patch(owner, image["id"], [{"op": "replace", "path": "/locations", "value": []}])
    assert resp.status_int == 403
    assert "empty list" in resp.text


def test_replace_sets_metadata_and_activates(owner, store_dir):
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    value = [{"url": url, "metadata": {"a": "1"}}]
    resp = patch(owner, image["id"], [{"op": "replace", "path": "/locations", "value": value}])
    assert resp.status_int == 200, resp.text
    assert resp.json["status"] == "active" and resp.json["locations"] == value
    value = [{"url": url, "metadata": {"a": "2"}}]
    resp = patch(owner, image["id"], [{"op": "replace", "path": "/locations", "value": value}])
    assert resp.status_int == 200 and resp.json["locations"] == value


def test_duplicate_location_is_400(owner, store_dir):
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    add = {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    assert patch(owner, image["id"], [add]).status_int == 200
    resp = patch(owner, image["id"], [add])
    assert resp.status_int == 400 and "already exists" in resp.text


def test_remove_last_location_is_403(conf, store_dir):
    admin = client_with(conf, show_multiple_locations=True)  # delete_image_location: admin
    image = admin.create(name="x")
    url = place_blob(store_dir, image["id"])
    add = {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    assert patch(admin, image["id"], [add]).status_int == 200
    resp = patch(admin, image["id"], [{"op": "remove", "path": "/locations/0"}])
    assert resp.status_int == 403 and "last location" in resp.text
    assert (store_dir / image["id"]).exists()


def test_remove_needs_delete_image_location(owner, store_dir):
    image = owner.create(name="x")
    resp = patch(owner, image["id"], [{"op": "remove", "path": "/locations/0"}])
    assert resp.status_int == 403
    assert "delete_image_location" in resp.text


@pytest.mark.parametrize("status", ["deactivated", "importing"])
def test_add_outside_queued_or_active_is_409(conf, store_dir, status):
    admin = client_with(conf, show_multiple_locations=True)
    image = admin.create(name="x")
    url = place_blob(store_dir, image["id"])
    add = {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    if status == "deactivated":
        assert patch(admin, image["id"], [add]).status_int == 200
        assert admin.post(f"/v2/images/{image['id']}/actions/deactivate").status_int == 204
    else:
        os.remove(store_dir / image["id"])
        resp = admin.request(
            "PUT", f"/v2/images/{image['id']}/stage", raw=DATA,
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        assert resp.status_int == 204
        status = "uploading"
    resp = patch(admin, image["id"], [{**add, "path": "/locations/0"}])
    assert resp.status_int == 409, resp.text
    assert admin.get(f"/v2/images/{image['id']}").json["status"] == status


def test_quota_is_413(conf, store_dir):
    owner = client_with(conf, show_multiple_locations=True, image_location_quota=0).as_(OWNER)
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    add = {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    resp = patch(owner, image["id"], [add])
    assert resp.status_int == 413, resp.text
    assert owner.get(f"/v2/images/{image['id']}").json["status"] == "queued"


def test_patch_is_atomic(owner, store_dir):
    image = owner.create(name="before")
    url = place_blob(store_dir, image["id"])
    resp = patch(owner, image["id"], [
        {"op": "replace", "path": "/name", "value": "after"},
        {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}},
        {"op": "replace", "path": "/status", "value": "active"},
    ])  # fmt: skip
    assert resp.status_int == 403
    shown = owner.get(f"/v2/images/{image['id']}").json
    assert shown["name"] == "before" and shown["status"] == "queued" and shown["locations"] == []


@pytest.mark.parametrize(
    "path", ["/locations", "/locations/x", "/locations/99", "/locations/-1", "/locations/0/1"]
)
def test_bad_positions_are_400(owner, store_dir, path):
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])
    resp = patch(owner, image["id"], [
        {"op": "add", "path": path, "value": {"url": url, "metadata": {}}}
    ])  # fmt: skip
    assert resp.status_int == 400, resp.text


def test_non_owner_cannot_add(conf, store_dir):
    app = client_with(conf, show_multiple_locations=True)
    owner = app.as_(OWNER)
    image = owner.create(name="x", visibility="community")
    url = place_blob(store_dir, image["id"])
    add = {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    assert patch(app.as_("p-other"), image["id"], [add]).status_int == 403
    private = owner.create(name="y")
    url = place_blob(store_dir, private["id"])
    add = {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    assert patch(app.as_("p-other"), private["id"], [add]).status_int == 404
    assert owner.get(f"/v2/images/{image['id']}").json["status"] == "queued"


@pytest.mark.parametrize("option", [{"user_storage_quota": "1KB"}, {"image_size_cap": 1000}])
def test_storage_quota_and_size_cap_are_413(conf, store_dir, option):
    owner = client_with(conf, show_multiple_locations=True, **option).as_(OWNER)
    image = owner.create(name="x")
    url = place_blob(store_dir, image["id"])  # 1300 bytes
    add = {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    assert patch(owner, image["id"], [add]).status_int == 413
    assert owner.get(f"/v2/images/{image['id']}").json["status"] == "queued"
