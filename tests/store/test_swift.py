"""What only the Swift store has: its SLO layout as the reaper sees it, its containers, and the
whole Images API on it (upload, ranged and whole downloads, delete) against the real Swift."""

from __future__ import annotations

import contextlib
import io
import os
import time
import uuid

import pytest

from imgreg import store as stores
from imgreg.domain import errors
from imgreg.maintenance import recovery
from imgreg.services import wiring
from imgreg.store import swift as swift_store
from imgreg.store.swift import SwiftStore
from tests.support.builders import make_conf
from tests.support.client import client_with, deleted_image, kept_urls, new_image
from tests.support.stores import LARGE, SwiftBackend, images_api_round_trip, read_all


@pytest.fixture
def swift(swift_server):
    return SwiftBackend(swift_server)


def test_created_by_name(swift):
    conf = make_conf(**swift.conf_overrides("byname"))
    assert isinstance(stores.create("swift", conf), SwiftStore)


def test_a_large_image_is_an_slo_of_segments(swift):
    store = swift.make()
    image_id = str(uuid.uuid4())
    blob = store.add(image_id, io.BytesIO(LARGE), len(LARGE), "sha512")
    with contextlib.closing(swift.client()) as conn:
        meta = conn.head_object(store.container, image_id)
        _, segments = conn.get_container(store.segments)
    assert meta["x-static-large-object"] == "True"
    assert [s["bytes"] for s in segments] == [1024 * 1024, 1024 * 1024, 300_001]
    assert {s["name"].split("/")[0] for s in segments} == {meta["x-object-meta-segments"]}
    store.delete(blob.url)
    with contextlib.closing(swift.client()) as conn:
        assert conn.get_container(store.segments)[1] == []


def test_segments_a_half_done_delete_left_are_a_partial(swift):
    store = swift.make()
    image_id = str(uuid.uuid4())
    store.add(image_id, io.BytesIO(LARGE), None, "sha512")
    with contextlib.closing(swift.client()) as conn:  # the manifest went, its segments did not
        conn.delete_object(store.container, image_id)
    assert store.list_blobs() == []
    (partial,) = store.list_partials()
    assert partial.image_id == image_id
    store.delete_partial(partial.name)
    assert store.list_partials() == []


def test_segments_of_an_overwritten_manifest_are_a_partial(swift):
    store = swift.make()
    image_id = str(uuid.uuid4())
    store.add(image_id, io.BytesIO(LARGE), None, "sha512")
    newer = os.urandom(len(LARGE))
    blob = store.add(image_id, io.BytesIO(newer), None, "sha512")
    (partial,) = store.list_partials()
    assert partial.image_id == image_id
    store.delete_partial(partial.name)
    assert read_all(store, blob.url) == newer


@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
def test_more_segments_than_a_manifest_takes(swift, monkeypatch, declared):
    monkeypatch.setattr(swift_store, "MAX_SEGMENTS", 2)
    store = swift.make()
    with pytest.raises(errors.StoreFull, match="over 2 segments of 1 MiB"):
        store.add(str(uuid.uuid4()), io.BytesIO(LARGE), len(LARGE) if declared else None, "md5")
    assert store.list_blobs() == []
    assert store.list_partials() == []


def test_missing_container_is_not_created_unless_configured(swift):
    store = swift.make(swift_store_create_container_on_put=False)
    with pytest.raises(errors.StoreError):
        store.add(str(uuid.uuid4()), io.BytesIO(LARGE), None, "sha512")
    assert store.list_blobs() == []
    assert store.list_partials() == []


def test_check_asks_swift_once(swift):
    swift.make().check()  # the container comes with the first upload: ready
    with pytest.raises(errors.StoreError, match="no container"):
        swift.make(swift_store_create_container_on_put=False).check()
    with pytest.raises(errors.StoreError) as caught:
        swift.unreachable().check()
    assert "127.0.0.1" not in caught.value.message


def test_healthcheck_on_swift(conf, swift):
    api = api_on_swift(conf, swift)
    assert api.get("/healthcheck").status_int == 200
    conf.set_override("swift_store_create_container_on_put", False, group="glance_store")
    wiring.reset()  # the same store, now without its container
    resp = api.get("/healthcheck")
    assert resp.status_int == 503
    assert "STORE UNAVAILABLE" in resp.text


def api_on_swift(conf, swift, **overrides):
    settings = swift.settings(f"api{uuid.uuid4().hex[:8]}", default_store="swift")
    return client_with(conf, **{f"glance_store.{k}": v for k, v in settings.items()}, **overrides)


def test_reaper_removes_what_swift_was_left_with(conf, swift):
    api = api_on_swift(conf, swift, upload_lease_seconds=1)
    kept = new_image(api, b"kept")
    stores = wiring.services().store
    store = stores.get(stores.default_id)  # the one configured driver
    orphan = store.add(deleted_image(api), io.BytesIO(b"nobody's"), 8, "sha512").url
    # a blob under an id no image row has: not imgreg's (a Glance beside it), left alone
    foreign = store.add(str(uuid.uuid4()), io.BytesIO(b"Glance's"), 8, "sha512").url
    abandoned = str(uuid.uuid4())
    store.add(abandoned, io.BytesIO(LARGE), None, "sha512")
    with contextlib.closing(swift.client()) as conn:  # the segments of a half-done delete
        conn.delete_object(store.container, abandoned)
    (partial,) = store.list_partials()
    time.sleep(1.5)  # past the lease
    reaped = recovery.reap(wiring.services())
    assert (reaped.blobs, reaped.partials) == ([orphan], [partial.name])
    assert sorted(store.list_blobs()) == sorted([foreign, *kept_urls(store, kept["id"])])
    assert store.list_partials() == []
    assert api.get(f"/v2/images/{kept['id']}/file").body == b"kept"


def test_images_api_on_swift(conf, swift):
    api = api_on_swift(conf, swift)
    url = images_api_round_trip(api, stores.create("swift", conf))
    assert url.startswith(f"swift://{conf.glance_store.swift_store_container}/")
