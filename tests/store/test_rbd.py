"""What only the RBD store has: Glance's layout (an image with a protected snapshot, which Nova
and Cinder clone), clones that keep data in use, partials moved to the trash while their writer
still has them open, thin provisioning, bounded memory, and the whole Images API on a real Ceph."""

from __future__ import annotations

import contextlib
import io
import os
import time
import uuid
from collections.abc import Iterator

import pytest
import rados
import rbd

from imgreg import store as stores
from imgreg.domain import errors
from imgreg.maintenance import recovery
from imgreg.services import wiring
from imgreg.store.rbd import RbdStore
from tests.support.builders import make_conf
from tests.support.client import client_with, deleted_image, kept_urls, new_image
from tests.support.rss import RssSampler, status_kib
from tests.support.stores import (
    LARGE,
    Broken,
    RbdBackend,
    images_api_round_trip,
    read_all,
    stalled,
    uploading,
)

MiB = 1024 * 1024


@pytest.fixture
def ceph(ceph_server, tmp_path):
    return RbdBackend(ceph_server, tmp_path)


@contextlib.contextmanager
def pool_of(ceph: RbdBackend, store: RbdStore) -> Iterator[rados.Ioctx]:
    """The store's pool, through a connection of the test's own."""
    cluster = rados.Rados(conffile=ceph.info["conf"])
    cluster.connect(timeout=30)
    try:
        with contextlib.closing(cluster.open_ioctx(store.pool)) as ioctx:
            yield ioctx
    finally:
        cluster.shutdown()


def test_created_by_name(ceph):
    conf = make_conf(**{f"glance_store__{k}": v for k, v in ceph.settings("images").items()})
    assert isinstance(stores.create("rbd", conf), RbdStore)


def test_glance_layout_an_image_with_a_protected_snapshot(ceph):
    store = ceph.make()
    image_id = str(uuid.uuid4())
    blob = store.add(image_id, io.BytesIO(LARGE), None, "sha512")
    assert blob.url == f"rbd://{ceph.info['fsid']}/{store.pool}/{image_id}/snap"
    assert recovery.blob_image_id(blob.url) == image_id
    with pool_of(ceph, store) as ioctx:
        assert rbd.RBD().list(ioctx) == [image_id]
        with rbd.Image(ioctx, image_id, read_only=True) as image:
            assert image.size() == len(LARGE)
            assert image.stat()["obj_size"] == MiB  # rbd_store_chunk_size
            assert image.features() & rbd.RBD_FEATURE_LAYERING
            assert [s["name"] for s in image.list_snaps()] == ["snap"]
            assert image.is_protected_snap("snap")
            assert image.read(0, len(LARGE)) == LARGE


def test_a_clone_keeps_the_data_in_use(ceph):
    """Nova's and Cinder's copy-on-write clones of the snapshot: while one exists, the data
    cannot go (Glance's "image is in use"); once it is gone, the delete goes through."""
    store = ceph.make()
    image_id = str(uuid.uuid4())
    blob = store.add(image_id, io.BytesIO(b"base image"), 10, "sha512")
    with pool_of(ceph, store) as ioctx:
        rbd.RBD().clone(ioctx, image_id, "snap", ioctx, "vm-disk", features=1)
        assert store.in_use(blob.url)
        with pytest.raises(errors.Conflict, match="in use"):
            store.delete(blob.url)
        assert store.list_blobs() == [blob.url]
        assert read_all(store, blob.url) == b"base image"
        rbd.RBD().remove(ioctx, "vm-disk")
    assert not store.in_use(blob.url)
    store.delete(blob.url)
    assert store.list_blobs() == []


def test_a_partial_its_writer_holds_goes_to_the_trash_then_away(ceph):
    store = ceph.make()
    with uploading(store, str(uuid.uuid4()), stalled(LARGE, fail=Broken("gone"))) as outcome:
        (partial,) = store.list_partials()
        store.delete_partial(partial.name)  # Ceph refuses to remove it while it is open
        with pool_of(ceph, store) as ioctx:
            assert rbd.RBD().list(ioctx) == []
            assert [e["name"] for e in rbd.RBD().trash_list(ioctx)] == [partial.name]
        assert store.list_partials() == []  # still open: not listed again yet
    assert isinstance(outcome[0], Broken)
    with pool_of(ceph, store) as ioctx:  # the writer's clean-up emptied the trash entry
        assert list(rbd.RBD().trash_list(ioctx)) == []


def test_an_upload_whose_partial_was_trashed_fails_and_leaves_nothing(ceph):
    store = ceph.make()
    with uploading(store, str(uuid.uuid4()), stalled(LARGE)) as outcome:
        (partial,) = store.list_partials()
        store.delete_partial(partial.name)
    assert isinstance(outcome[0], errors.StoreError)  # its rename found no image
    assert store.list_blobs() == []
    with pool_of(ceph, store) as ioctx:
        assert list(rbd.RBD().trash_list(ioctx)) == []


def test_a_trashed_partial_nobody_holds_is_listed_and_removed(ceph):
    """What a writer that died leaves once Ceph has dropped its watch."""
    store = ceph.make()
    name = f"{uuid.uuid4()}.0123456789ab"
    with pool_of(ceph, store) as ioctx:
        rbd.RBD().create(ioctx, name, MiB, old_format=False, features=1)
        rbd.RBD().trash_move(ioctx, name, 0)
    (partial,) = store.list_partials()
    assert (partial.name, partial.image_id) == (name, name.split(".")[0])
    assert abs(partial.modified - time.time()) < 60
    store.delete_partial(partial.name)
    assert store.list_partials() == []
    with pool_of(ceph, store) as ioctx:
        assert list(rbd.RBD().trash_list(ioctx)) == []


def test_reaper_removes_orphans_and_partials_and_retries_a_busy_one(conf, ceph):
    store = ceph.make()
    api = client_with(conf, **{f"glance_store.{k}": v for k, v in
                               ceph.settings(store.pool, default_store="rbd").items()},
                      upload_lease_seconds=1)  # fmt: skip
    kept = new_image(api, b"kept")
    stores = wiring.services().store
    store = stores.get(stores.default_id)  # the one configured driver
    orphan = store.add(deleted_image(api), io.BytesIO(b"nobody's"), 8, "sha512").url
    # a blob under an id no image row has: not imgreg's (a Glance beside it), left alone
    foreign = store.add(str(uuid.uuid4()), io.BytesIO(b"Glance's"), 8, "sha512").url
    name = f"{uuid.uuid4()}.00aa"
    with pool_of(ceph, store) as ioctx:  # a killed upload's image
        rbd.RBD().create(ioctx, name, MiB, old_format=False, features=1)
    held_id = deleted_image(api)
    held = store.add(held_id, io.BytesIO(b"held open"), 9, "sha512").url
    time.sleep(1.5)  # past the lease
    with pool_of(ceph, store) as ioctx, rbd.Image(ioctx, held_id):  # a client has it open
        reaped = recovery.reap(wiring.services())  # which does not stop the round
    assert (reaped.blobs, reaped.partials) == ([orphan], [name])
    assert recovery.reap(wiring.services()).blobs == [held]  # the next round
    assert sorted(store.list_blobs()) == sorted([foreign, *kept_urls(store, kept["id"])])
    assert store.list_partials() == []
    assert api.get(f"/v2/images/{kept['id']}/file").body == b"kept"


def test_thin_provisioning_leaves_zeros_unallocated(ceph):
    data = b"head" + bytes(4 * MiB) + b"tail"
    thick, thin = ceph.make(), ceph.make(rbd_thin_provisioning=True)
    for store in (thick, thin):
        blob = store.add(str(uuid.uuid4()), io.BytesIO(data), None, "sha512")
        assert read_all(store, blob.url) == data
    with pool_of(ceph, thick) as ioctx:
        thick_objects = len(list(ioctx.list_objects()))
    with pool_of(ceph, thin) as ioctx:
        thin_objects = len(list(ioctx.list_objects()))
    assert thin_objects <= thick_objects - 3  # at least 3 of the 5 data objects never written


def test_missing_pool_and_unreachable_cluster(ceph):
    with pytest.raises(errors.StoreError, match="open the pool"):
        ceph.store("no-such-pool").add(str(uuid.uuid4()), io.BytesIO(b"x"), 1, "sha512")
    with pytest.raises(errors.StoreError, match="open the pool"):
        ceph.store("no-such-pool").check()
    started = time.monotonic()
    with pytest.raises(errors.StoreError) as caught:
        ceph.unreachable().check()
    assert time.monotonic() - started < 10  # rados_connect_timeout, not librados's forever
    assert "127.0.0.1" not in caught.value.message


def test_a_large_upload_streams_in_bounded_memory(ceph):
    size = 256 * MiB
    block = os.urandom(MiB)
    store = ceph.make(rbd_store_chunk_size=8)

    class Stream(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
            n = min(len(buf), MiB, size - self.sent)
            buf[:n] = block[:n]
            self.sent += n
            return n

    pid = os.getpid()
    before = status_kib(pid, "VmRSS")
    sampler = RssSampler([pid])
    sampler.start()
    try:
        blob = store.add(str(uuid.uuid4()), io.BufferedReader(Stream()), None, "sha512")
    finally:
        peak = sampler.stop()[pid]
    assert blob.size == size
    assert peak - before < 64 * MiB, f"RSS grew by {(peak - before) / MiB:.0f} MiB"
    reader = store.open(blob.url, size - 10)
    assert b"".join(reader) == block[MiB - 10 :]
    reader.close()


def test_images_api_on_rbd(conf, ceph):
    store = ceph.make()
    api = client_with(conf, **{f"glance_store.{k}": v for k, v in
                               ceph.settings(store.pool, default_store="rbd").items()})  # fmt: skip
    url = images_api_round_trip(api, stores.create("rbd", conf))
    assert url.startswith(f"rbd://{ceph.info['fsid']}/{store.pool}/")


def test_images_api_refuses_to_delete_an_image_with_clones(conf, ceph):
    store = ceph.make()
    api = client_with(conf, **{f"glance_store.{k}": v for k, v in
                               ceph.settings(store.pool, default_store="rbd").items()})  # fmt: skip
    image = new_image(api, b"boot disk")
    with pool_of(ceph, store) as ioctx:
        rbd.RBD().clone(ioctx, image["id"], "snap", ioctx, "vm-disk", features=1)
        resp = api.delete(f"/v2/images/{image['id']}")
        assert resp.status_int == 409, resp.text
        assert "in use" in resp.text
        assert api.get(f"/v2/images/{image['id']}").json["status"] == "active"
        assert api.get(f"/v2/images/{image['id']}/file").body == b"boot disk"
        rbd.RBD().remove(ioctx, "vm-disk")
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert store.list_blobs() == []


def test_close_disconnects_and_the_next_call_connects_again(ceph):
    """``wiring.reset`` closes the store before imgreg-api forks its workers: librados's threads
    would not follow a fork, so a connection the master made must not be inherited."""
    store = ceph.make()
    blob = store.add(str(uuid.uuid4()), io.BytesIO(b"data"), 4, "sha512")
    connection = store._cluster
    store.close()
    assert store._cluster is None
    assert connection.state == "shutdown"
    assert read_all(store, blob.url) == b"data"
    assert store._cluster is not None


def test_partials_carry_the_right_time_in_any_time_zone(ceph, monkeypatch):
    """librbd's binding gives an image's modification time in local time, its trash times in
    UTC: a partial's time must be the same instant whatever TZ the server runs in."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        store = ceph.make()
        trashed = f"{uuid.uuid4()}.0123"
        with pool_of(ceph, store) as ioctx:
            rbd.RBD().create(ioctx, trashed, MiB, old_format=False, features=1)
            rbd.RBD().trash_move(ioctx, trashed, 0)
            rbd.RBD().create(ioctx, f"{uuid.uuid4()}.4567", MiB, old_format=False, features=1)
        partials = store.list_partials()
        assert len(partials) == 2
        for partial in partials:
            assert abs(partial.modified - time.time()) < 60, partial
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_blob_another_client_has_open_is_left_whole(ceph):
    """A node that died holding a blob open (inside the rename, say) leaves Ceph a watch for
    ~30 s: the delete fails before touching anything, and the reaper carries on."""
    store = ceph.make()
    blob = store.add(str(uuid.uuid4()), io.BytesIO(b"held"), 4, "sha512")
    with pool_of(ceph, store) as ioctx, rbd.Image(ioctx, recovery.blob_image_id(blob.url)):
        with pytest.raises(errors.StoreError):
            store.delete(blob.url)
        with rbd.Image(ioctx, recovery.blob_image_id(blob.url), read_only=True) as image:
            assert image.is_protected_snap("snap")  # the snapshot is still there
    assert read_all(store, blob.url) == b"held"
    store.delete(blob.url)
    assert store.list_blobs() == []
