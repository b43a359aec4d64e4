"""The image cache in front of the remote stores (a real Swift, a real Ceph RBD): the first
download reads the store once and fills the cache, the next ones (ranges too) never touch the
store, and a copy with one flipped byte is never served."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from imgreg.services import wiring
from tests.support.client import client_with, new_image
from tests.support.stores import RbdBackend, SwiftBackend

# tools/test's first pass only: the cache keeps its own SQLite catalog beside its files, whatever
# the database (tests/functional/test_cache_download.py says more)
pytestmark = [
    pytest.mark.first_pass,
    pytest.mark.usefixtures("sync_cache_fills"),  # the hit is there when a request ends
]

DATA = os.urandom(3 * 1024 * 1024 + 17)  # several Swift segments / RBD objects


def settings(request, tmp_path: Path, kind: str) -> dict[str, object]:
    if kind == "swift":
        swift = SwiftBackend(request.getfixturevalue("swift_server"))
        return swift.settings(f"cache{uuid.uuid4().hex[:8]}", default_store="swift")
    ceph = RbdBackend(request.getfixturevalue("ceph_server"), tmp_path)
    return ceph.settings(ceph.make().pool, default_store="rbd")


@pytest.fixture(params=["swift", "rbd"])
def api(request, conf, tmp_path):
    options = {
        f"glance_store.{k}": v for k, v in settings(request, tmp_path, request.param).items()
    }
    return client_with(conf, image_cache_dir=str(tmp_path / "cache"), **options)


@pytest.fixture
def store_reads(api, monkeypatch):
    store = wiring.services().store
    reads: list[str] = []
    real = store.open

    def counting(url, offset=0, length=None):
        reads.append(url)
        return real(url, offset, length)

    monkeypatch.setattr(store, "open", counting)
    return reads


def body(api, image_id: str, **headers: str) -> bytes:
    resp = api.get(f"/v2/images/{image_id}/file", headers=headers)
    assert resp.status_int in (200, 206), resp.text
    return resp.body


def test_a_remote_image_is_read_once_then_served_from_the_cache(api, store_reads, tmp_path):
    image = new_image(api, DATA)
    assert body(api, image["id"]) == DATA
    assert len(store_reads) == 1
    assert (tmp_path / "cache" / image["id"]).read_bytes() == DATA
    assert body(api, image["id"]) == DATA
    assert body(api, image["id"], Range="bytes=1048570-1048600") == DATA[1048570:1048601]
    assert len(store_reads) == 1
    assert api.get("/v2/cache").json["cached_images"][0]["hits"] == 2


def test_a_flipped_byte_in_a_remote_images_copy_is_never_served(api, store_reads, tmp_path):
    image = new_image(api, DATA)
    body(api, image["id"])
    copy = tmp_path / "cache" / image["id"]
    with copy.open("r+b") as f:
        f.seek(2_000_000)
        f.write(bytes([DATA[2_000_000] ^ 0x10]))
    assert body(api, image["id"]) == DATA  # the store's bytes
    assert len(store_reads) == 2
    assert copy.read_bytes() == DATA  # evicted, then filled again
