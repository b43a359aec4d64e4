"""Downloads through the image cache (``image_cache_dir``): read-through, hits, ranges,
corruption, deleted and deactivated images, authorization, a full cache disk, concurrency."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import webob

from imgreg.cache import sink as sink_module
from imgreg.services import wiring
from tests.support.client import client_with, new_image

# tools/test's first pass only: the cache keeps its own SQLite catalog beside its files; the image
# rows it checks are read as every download reads them (test_download.py runs on every engine)
pytestmark = [
    pytest.mark.first_pass,
    pytest.mark.usefixtures("sync_cache_fills"),  # the hit is there when a request ends
]

DATA = bytes(range(256)) * 40_000  # 10 MiB: several store blocks


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def api(conf, cache_dir):
    return client_with(conf, image_cache_dir=str(cache_dir))


@pytest.fixture
def store_opens(api, monkeypatch):
    """The store reads made, as a list of URLs (the store is slowed a little, so that
    concurrent downloads overlap)."""
    store = wiring.services().store
    opened: list[str] = []
    real = store.open

    def counting(url, offset=0, length=None):
        opened.append(url)
        time.sleep(0.05)
        return real(url, offset, length)

    monkeypatch.setattr(store, "open", counting)
    return opened


def cache():
    found = wiring.services().cache
    assert found is not None
    return found


def download(client, image_id, **headers):
    """The response, its body read (webob reads the app's iterator lazily)."""
    resp = client.get(f"/v2/images/{image_id}/file", headers=headers)
    resp.body  # noqa: B018
    return resp


def test_without_a_cache_dir_there_is_no_cache(conf):
    client = client_with(conf)
    assert wiring.services().cache is None
    image = new_image(client, DATA)
    assert download(client, image["id"]).body == DATA


def test_first_download_fills_the_cache_and_the_next_is_a_hit(api, store_opens, cache_dir):
    image = new_image(api, DATA)
    first = download(api, image["id"])
    assert first.status_int == 200 and first.body == DATA
    assert len(store_opens) == 1
    assert (cache_dir / image["id"]).read_bytes() == DATA
    second = download(api, image["id"])
    assert second.status_int == 200 and second.body == DATA
    assert dict(second.headerlist)["Content-Length"] == str(len(DATA))
    assert second.headers["Content-MD5"] == image["checksum"]
    assert len(store_opens) == 1  # served from the cache
    [entry] = cache().entries()
    assert (entry.image_id, entry.size, entry.hits) == (image["id"], len(DATA), 1)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-4", 0, 4),
        ("bytes=100-", 100, len(DATA) - 1),
        ("bytes=-5", len(DATA) - 5, len(DATA) - 1),
    ],
)
def test_ranges_are_served_from_a_hit(api, store_opens, header, first, last):
    image = new_image(api, DATA)
    download(api, image["id"])
    resp = download(api, image["id"], Range=header)
    assert resp.status_int == 206
    assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
    assert resp.body == DATA[first : last + 1]
    assert len(store_opens) == 1


def test_a_range_on_a_miss_reads_the_store_and_fills_nothing(api, store_opens):
    image = new_image(api, DATA)
    resp = download(api, image["id"], Range="bytes=10-19")
    assert resp.status_int == 206 and resp.body == DATA[10:20]
    assert cache().entries() == []
    assert download(api, image["id"], Range=f"bytes={len(DATA)}-").status_int == 416


def test_a_corrupted_copy_is_never_served_evicted_and_refilled(api, store_opens, cache_dir):
    image = new_image(api, DATA)
    download(api, image["id"])
    copy = cache_dir / image["id"]
    with copy.open("r+b") as f:
        f.seek(len(DATA) // 2)
        f.write(bytes([DATA[len(DATA) // 2] ^ 0x01]))
    resp = download(api, image["id"], Range="bytes=0-9")  # not even a part of it
    assert resp.body == DATA[:10]
    assert cache().entries() == [] and not copy.exists()
    assert download(api, image["id"]).body == DATA  # the store's bytes, filling again
    assert copy.read_bytes() == DATA
    assert len(store_opens) == 3


def test_deleting_an_image_evicts_this_nodes_copy(api, cache_dir):
    image = new_image(api, DATA)
    download(api, image["id"])
    assert (cache_dir / image["id"]).exists()
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert not (cache_dir / image["id"]).exists()
    assert cache().entries() == []


def test_an_image_deleted_elsewhere_is_evicted_at_its_next_request(api, conf, cache_dir):
    image = new_image(api, DATA)
    download(api, image["id"])
    # another node deletes it: the same database, no cache here
    elsewhere = client_with(conf, image_cache_dir=None)
    assert elsewhere.delete(f"/v2/images/{image['id']}").status_int == 204
    assert (cache_dir / image["id"]).exists()
    api = client_with(conf, image_cache_dir=str(cache_dir))
    assert download(api, image["id"]).status_int == 404
    assert not (cache_dir / image["id"]).exists()
    assert cache().entries() == []


def test_deactivated_images_are_not_served_from_the_cache(api, store_opens, cache_dir):
    image = new_image(api.as_("p1"), DATA)
    download(api, image["id"])
    assert api.post(f"/v2/images/{image['id']}/actions/deactivate").status_int == 204
    assert download(api.as_("p1"), image["id"]).status_int == 403
    resp = download(api, image["id"])  # an admin still may: from the store
    assert resp.body == DATA
    assert len(store_opens) == 2
    assert cache().entries()[0].hits == 0


def test_the_cache_never_widens_who_may_download(api, store_opens, cache_dir):
    image = new_image(api.as_("p1"), DATA)
    assert download(api.as_("p1"), image["id"]).body == DATA
    assert download(api.as_("p2"), image["id"]).status_int == 404  # private to p1
    assert download(api.as_("p1", roles="reader"), image["id"]).status_int == 403
    [entry] = cache().entries()  # a caller who cannot see the image does not evict it
    assert entry.hits == 0


def test_download_image_policy_applies_to_hits(conf, cache_dir, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"download_image": "role:admin"\n')
    client = client_with(
        conf, image_cache_dir=str(cache_dir), **{"oslo_policy.policy_file": str(policy)}
    )
    image = new_image(client.as_("p1"), DATA)
    assert download(client, image["id"]).body == DATA  # admin: fills the cache
    assert cache().entries()
    assert download(client.as_("p1"), image["id"]).status_int == 403


def test_a_full_cache_disk_does_not_fail_the_download(api, monkeypatch, cache_dir):
    image = new_image(api, DATA)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink_module, "write_all", full)
    resp = download(api, image["id"])
    assert resp.status_int == 200 and resp.body == DATA
    assert cache().entries() == []
    assert list((cache_dir / "incomplete").iterdir()) == []


def test_concurrent_first_downloads_read_the_store_once(api, store_opens):
    image = new_image(api, DATA)
    bodies: list[bytes] = []

    def get() -> None:
        bodies.append(download(api, image["id"]).body)

    threads = [threading.Thread(target=get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert bodies == [DATA] * 8
    assert len(store_opens) == 1
    assert cache().entries()[0].hits == 7


def test_a_client_gone_mid_download_leaves_no_hit(api, cache_dir):
    image = new_image(api, DATA)
    req = webob.Request.blank(f"/v2/images/{image['id']}/file")

    def start_response(status, headers, exc_info=None):
        return lambda data: None

    app_iter = api.app(req.environ, start_response)
    iterator = iter(app_iter)
    next(iterator)
    app_iter.close()  # the client went away after one block
    assert cache().entries() == []
    assert list((cache_dir / "incomplete").iterdir()) == []
    assert download(api, image["id"]).body == DATA
    assert len(cache().entries()) == 1


@pytest.mark.parametrize("method", ["get", "hit", "add"])
def test_a_broken_catalog_never_fails_a_download(api, monkeypatch, method):
    image = new_image(api, DATA)
    download(api, image["id"])  # a copy to hit (or not)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    catalog = cache().catalog
    monkeypatch.setattr(catalog, method, broken)
    for _ in range(2):
        resp = download(api, image["id"])
        assert resp.status_int == 200 and resp.body == DATA
    other = new_image(api, DATA)
    assert download(api, other["id"]).body == DATA


def test_a_vanished_cache_dir_never_fails_a_download(api, cache_dir):
    image = new_image(api, DATA)
    shutil.rmtree(cache_dir)
    assert download(api, image["id"]).body == DATA
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert download(api, image["id"]).status_int == 404
