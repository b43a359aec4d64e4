"""Acceptance: the ``glance cache-*`` commands against a live ``imgreg-api`` whose store is a
real Swift (``tools/swift``) or a real Ceph RBD (``tools/ceph``), with ``image_cache_dir``:
the prefetcher fills a queued image from the remote store, downloads are then served from the
node's disk, a flipped byte in a copy is never served, and eight concurrent first downloads of
one image read the store once (counted in Swift's proxy log, the one place outside imgreg
that sees every read).

The engine-specific part (the cache's catalog is its own SQLite, the image rows are the
run's database) is covered in every pass by ``test_client_glance_cache.py``; these start the
remote stores, so they run in the first pass only.
"""

from __future__ import annotations

import concurrent.futures
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cache_client import cache_table, download, wait_cached
from tests.e2e.clients import ok, properties, sha512, write_image
from tests.support.stores import RbdBackend, SwiftBackend

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

PERIOD = 1  # image_cache_period: the prefetcher's timer, in seconds


def store_options(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> dict[str, Any]:
    if kind == "swift":
        swift = SwiftBackend(request.getfixturevalue("swift_server"))
        settings = swift.settings(f"cache{uuid.uuid4().hex[:8]}", default_store="swift")
    else:
        ceph = RbdBackend(request.getfixturevalue("ceph_server"), tmp_path)
        settings = ceph.settings(ceph.make().pool, default_store="rbd")
    return {f"glance_store.{name}": value for name, value in settings.items()}


@pytest.fixture(params=["swift", "rbd"])
def server_options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    return {
        "image_cache_dir": tmp_path / "cache",
        "image_cache_period": PERIOD,
        **store_options(request, tmp_path, request.param),
    }


def create(server: Any, source: Path) -> str:
    return properties(
        ok(server, "image-create", "--file", str(source), "--disk-format", "raw",
           "--container-format", "bare")
    )["id"]  # fmt: skip


def test_glance_cache_commands_on_a_remote_store(server, tmp_path: Path):
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=3)  # several Swift segments / RBD objects
    image_id, other_id = create(server, source), create(server, source)
    assert properties(ok(server, "image-show", image_id))["os_hash_value"] == sha512(data)
    assert cache_table(server) == {}

    # queued, then the prefetcher (every PERIOD s in each worker) reads it from the store
    ok(server, "cache-queue", image_id)
    assert image_id in cache_table(server)
    wait_cached(server, image_id, timeout=30)
    assert (tmp_path / "cache" / image_id).read_bytes() == data
    assert cache_table(server)[image_id][0] == "cached"

    # served from the copy: whole, through the client, and a range
    out = tmp_path / "out.raw"
    ok(server, "image-download", "--file", str(out), image_id)
    assert out.read_bytes() == data
    assert (
        download(server, image_id, Range="bytes=1048570-1048600").content == (data[1048570:1048601])
    )
    state, _accessed, _modified, size, hits = cache_table(server)[image_id]
    assert (state, size, hits) == ("cached", str(len(data)), "2")

    # a flipped byte: the store's bytes are served, the copy evicted and filled again
    copy = tmp_path / "cache" / image_id
    with copy.open("r+b") as f:
        f.seek(2_000_000)
        f.write(bytes([data[2_000_000] ^ 0x10]))
    assert download(server, image_id).content == data
    wait_cached(server, image_id)
    assert copy.read_bytes() == data

    # delete, clear by target, prune, clean
    ok(server, "cache-delete", image_id)
    assert image_id not in cache_table(server)
    assert not copy.exists()
    download(server, other_id)
    wait_cached(server, other_id)
    ok(server, "cache-clear", "--target", "cache")
    assert cache_table(server) == {}
    download(server, other_id)
    wait_cached(server, other_id)
    assert "Pruned 0 file(s), 0 byte(s)." in ok(server, "cache-prune")
    ok(server, "cache-clean")
    assert list(cache_table(server)) == [other_id]
    ok(server, "cache-clear")
    assert cache_table(server) == {}

    # a deleted image is gone from the cache, and its copy with it
    download(server, other_id)
    wait_cached(server, other_id)
    ok(server, "image-delete", other_id)
    assert cache_table(server) == {}
    assert not (tmp_path / "cache" / other_id).exists()


def swift_reads(log: Path, image_id: str) -> int:
    """The GETs of the image's object (its SLO manifest: a segment has a longer name) that
    reached Swift's proxy from outside (not the proxy's own subrequests for segments)."""
    pattern = re.compile(rf" GET /v1/[^ ]+/{image_id}(\?[^ ]*)? ")
    return sum(1 for line in log.read_text(errors="replace").splitlines() if pattern.search(line))


@pytest.mark.parametrize("server_options", ["swift"], indirect=True)
def test_eight_concurrent_first_downloads_read_the_store_once(server, request, tmp_path: Path):
    log = Path(request.getfixturevalue("swift_server")["proxy_log"])
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=24)
    image_id = create(server, source)
    assert swift_reads(log, image_id) == 0

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: download(server, image_id).content, range(8)))
    assert all(body == data for body in bodies)
    wait_cached(server, image_id)
    deadline = time.monotonic() + 5  # the proxy writes its log line once the response ends
    while swift_reads(log, image_id) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert swift_reads(log, image_id) == 1
    assert cache_table(server)[image_id][0] == "cached"
    assert int(cache_table(server)[image_id][4]) == 7  # the other seven: served the copy
