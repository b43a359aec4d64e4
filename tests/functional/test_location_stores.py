"""Locations with several stores (``enabled_backends``): each location's metadata names the
store its URL is in (a caller's ``store`` that disagrees: 400), and removing a location
deletes that store's copy of the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imgreg.conf.store import backend_opts, store_opts
from imgreg.importing import flow
from tests.functional.test_location_patch import DATA, OWNER, patch
from tests.support.client import Client, client_with


@pytest.fixture
def stores(conf: Any, tmp_path: Path) -> dict[str, Path]:
    dirs = {"fast": tmp_path / "fast", "slow": tmp_path / "slow"}
    for store_id, directory in dirs.items():
        conf.register_opts(store_opts + backend_opts, group=store_id)
        conf.set_override("filesystem_store_datadir", str(directory), group=store_id)
        directory.mkdir()
    conf.set_override("enabled_backends", {"fast": "file", "slow": "file"})
    conf.set_override("default_backend", "fast", group="glance_store")
    return dirs


@pytest.fixture
def admin(conf: Any, stores: dict[str, Path]) -> Client:
    return client_with(conf, show_multiple_locations=True)


def blob(stores: dict[str, Path], store_id: str, image_id: str) -> str:
    (stores[store_id] / image_id).write_bytes(DATA)
    return f"file://{stores[store_id].resolve()}/{image_id}"


def test_added_location_names_its_store(admin, stores):
    image = admin.create(name="x")
    url = blob(stores, "slow", image["id"])
    resp = patch(admin, image["id"], [
        {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}
    ])  # fmt: skip
    assert resp.status_int == 200, resp.text
    assert resp.json["locations"] == [{"url": url, "metadata": {"store": "slow"}}]
    assert resp.json["stores"] == "slow"


def test_a_store_that_disagrees_is_400(admin, stores):
    image = admin.create(name="x")
    url = blob(stores, "slow", image["id"])
    resp = patch(admin, image["id"], [
        {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {"store": "fast"}}}
    ])  # fmt: skip
    assert resp.status_int == 400, resp.text
    assert admin.get(f"/v2/images/{image['id']}").json["status"] == "queued"


def test_removing_a_location_deletes_that_copy(admin, stores):
    image = admin.create(name="x")
    urls = [blob(stores, s, image["id"]) for s in ("fast", "slow")]
    value = [{"url": u, "metadata": {}} for u in urls]
    resp = patch(admin, image["id"], [{"op": "replace", "path": "/locations", "value": value}])
    assert resp.status_int == 200, resp.text
    assert [loc["metadata"]["store"] for loc in resp.json["locations"]] == ["fast", "slow"]
    resp = patch(admin, image["id"], [{"op": "remove", "path": "/locations/1"}])
    assert resp.status_int == 200, resp.text
    assert resp.json["locations"] == [{"url": urls[0], "metadata": {"store": "fast"}}]
    assert not (stores["slow"] / image["id"]).exists()
    assert (stores["fast"] / image["id"]).read_bytes() == DATA
    assert admin.get(f"/v2/images/{image['id']}/file").body == DATA


def test_remove_then_add_back_keeps_the_data(admin, stores):
    image = admin.create(name="x")
    urls = [blob(stores, s, image["id"]) for s in ("fast", "slow")]
    value = [{"url": u, "metadata": {}} for u in urls]
    assert patch(admin, image["id"], [
        {"op": "replace", "path": "/locations", "value": value}
    ]).status_int == 200  # fmt: skip
    resp = patch(admin, image["id"], [
        {"op": "remove", "path": "/locations/1"},
        {"op": "add", "path": "/locations/-", "value": {"url": urls[1], "metadata": {}}},
    ])  # fmt: skip
    assert resp.status_int == 200, resp.text
    assert (stores["slow"] / image["id"]).read_bytes() == DATA


def test_post_location_names_its_store(admin, stores):
    service = admin.as_(OWNER, roles="member,reader,service")
    image = service.create(name="x")
    url = blob(stores, "slow", image["id"])
    resp = service.post(f"/v2/images/{image['id']}/locations", {"url": url})
    assert resp.status_int == 202, resp.text
    assert flow.wait_idle(30)
    resp = service.get(f"/v2/images/{image['id']}/locations")
    assert resp.json == [{"url": url, "metadata": {"store": "slow"}}]
