"""The on-disk cache without the API: fills, hits, verification, eviction, pruning, cleaning."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from imgreg.cache import sink as sink_module
from imgreg.cache.cache import ImageCache
from imgreg.cache.fill import Fill
from imgreg.cache.sink import STAGE
from imgreg.domain.image import Image
from tests.support.builders import make_conf, make_image


def data_image(data: bytes, **fields) -> Image:
    defaults = {
        "status": "active",
        "size": len(data),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(data).hexdigest(),
        "checksum": hashlib.md5(data).hexdigest(),
        "crc32": zlib.crc32(data),
        "locations": ["file:///nowhere"],
    }
    return make_image(**{**defaults, **fields})


@pytest.fixture
def cache(tmp_path: Path) -> ImageCache:
    return ImageCache(make_conf(image_cache_dir=str(tmp_path / "cache")))


def fill(cache: ImageCache, image: Image, data: bytes, block: int = 1000) -> bool:
    started = cache.begin_fill(image)
    assert isinstance(started, Fill)
    for i in range(0, len(data), block):
        started.write(data[i : i + block])
    return started.finish()


def read(reader) -> bytes:
    try:
        return b"".join(reader)
    finally:
        reader.close()


def test_a_filled_copy_is_a_hit_with_its_bytes(cache):
    data = os.urandom(10_000)
    image = data_image(data)
    assert cache.open_hit(image) is None
    assert fill(cache, image, data)
    assert read(cache.open_hit(image)) == data
    [entry] = cache.entries()
    assert (entry.image_id, entry.size, entry.hits) == (image.id, len(data), 1)
    assert os.listdir(cache.layout.incomplete) == []


def test_a_range_is_served_from_a_hit(cache):
    data = os.urandom(5000)
    image = data_image(data)
    fill(cache, image, data)
    assert read(cache.open_hit(image, (10, 19))) == data[10:20]


@pytest.mark.parametrize(
    "stored", [b"x" * 9_999, b"y" * 10_000, b"z" * 10_001], ids=["short", "other", "long"]
)
def test_data_that_is_not_the_images_never_becomes_a_hit(cache, stored):
    image = data_image(b"a" * 10_000)
    assert not fill(cache, image, stored)
    assert cache.open_hit(image) is None
    assert cache.entries() == []
    assert cache.layout.entry_names() == []
    assert os.listdir(cache.layout.incomplete) == []


def test_one_flipped_byte_is_never_served_and_is_evicted(cache):
    data = os.urandom(10_000)
    image = data_image(data)
    fill(cache, image, data)
    path = cache.layout.entry(image.id)
    with open(path, "r+b") as f:
        f.seek(5000)
        byte = f.read(1)
        f.seek(5000)
        f.write(bytes([byte[0] ^ 1]))
    assert cache.open_hit(image) is None
    assert cache.open_hit(image, (0, 9)) is None
    assert not os.path.exists(path)
    assert cache.entries() == []


def test_a_flipped_byte_is_caught_before_a_range_too(cache):
    data = os.urandom(10_000)
    image = data_image(data)
    fill(cache, image, data)
    with open(cache.layout.entry(image.id), "r+b") as f:
        f.seek(9000)
        f.write(b"\0" if data[9000] else b"\1")
    assert cache.open_hit(image, (0, 9)) is None
    assert not os.path.exists(cache.layout.entry(image.id))


def test_a_copy_whose_image_changed_is_evicted(cache):
    data = os.urandom(1000)
    image = data_image(data)
    fill(cache, image, data)
    other = data_image(os.urandom(1000), id=image.id)
    assert cache.open_hit(other) is None
    assert cache.entries() == []


def test_only_active_images_with_a_multihash_are_cached(cache):
    data = b"d" * 100
    for image in (
        data_image(data, status="deactivated"),
        make_image(status="active", size=100, os_hash_algo="sha512", os_hash_value=None),
        make_image(status="active", size=100, os_hash_algo="nosuch", os_hash_value="00"),
    ):
        assert cache.begin_fill(image) is None
        assert cache.open_hit(image) is None


def test_a_second_fill_of_an_image_waits_for_the_first_then_gets_the_hit(cache):
    data = os.urandom(3000)
    image = data_image(data)
    first = cache.begin_fill(image)
    assert isinstance(first, Fill)
    assert cache.begin_fill(image) is None  # no waiting: read the store, do not fill
    first.write(data)
    first.finish()
    second = cache.begin_fill(image, wait=1.0)
    assert read(second) == data


def test_a_failed_fill_leaves_the_lock_free_for_the_next(cache):
    data = os.urandom(3000)
    image = data_image(data)
    first = cache.begin_fill(image)
    first.write(data[:100])
    first.abandon()
    assert fill(cache, image, data)


def test_a_full_disk_abandons_the_fill_quietly(cache, monkeypatch):
    data = os.urandom(3000)
    image = data_image(data)
    started = cache.begin_fill(image)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink_module, "write_all", full)
    for i in range(0, len(data), 100):
        started.write(data[i : i + 100])  # no exception
    assert not started.finish()
    monkeypatch.undo()
    assert not started.active
    assert cache.open_hit(image) is None
    assert os.listdir(cache.layout.incomplete) == []


def test_prune_removes_the_least_recently_used_down_to_the_maximum(tmp_path):
    cache = ImageCache(make_conf(image_cache_dir=str(tmp_path), image_cache_max_size=2500))
    payloads = [os.urandom(1000) for _ in range(3)]
    images = [data_image(data) for data in payloads]
    for image, data in zip(images, payloads, strict=True):
        assert fill(cache, image, data)
        time.sleep(0.01)
    read(cache.open_hit(images[0]))  # now the most recently used
    pruned = cache.prune()
    assert (pruned.files, pruned.bytes) == (1, 1000)
    assert {e.image_id for e in cache.entries()} == {images[0].id, images[2].id}
    assert not os.path.exists(cache.layout.entry(images[1].id))


def test_clean_removes_stalled_partials_and_orphans_but_not_live_fills(tmp_path):
    cache = ImageCache(make_conf(image_cache_dir=str(tmp_path), image_cache_stall_time=0))
    dead, live, orphan = (data_image(os.urandom(10)) for _ in range(3))
    Path(cache.layout.partial(dead.id)).write_bytes(b"left by a SIGKILL")
    running = cache.begin_fill(live)
    Path(cache.layout.entry(orphan.id)).write_bytes(b"renamed, never recorded")
    assert cache.clean() == 2
    assert cache.layout.partial_names() == [live.id]
    assert cache.layout.entry_names() == []
    running.abandon()


def test_a_row_without_its_file_is_a_miss_and_is_dropped(cache):
    data = os.urandom(100)
    image = data_image(data)
    fill(cache, image, data)
    os.unlink(cache.layout.entry(image.id))
    assert cache.open_hit(image) is None
    assert cache.entries() == []


def test_queue_and_clear(cache):
    a, b = data_image(b"a"), data_image(b"b")
    cache.queue(a.id)
    cache.queue(b.id)
    cache.queue(a.id)
    assert cache.queued() == [a.id, b.id]
    fill(cache, a, b"a")
    assert cache.queued() == [b.id]  # a fill takes the image off the queue
    cache.clear(cache=False, queue=True)
    assert cache.queued() == [] and len(cache.entries()) == 1
    cache.clear(cache=True, queue=False)
    assert cache.entries() == []


def test_ids_that_are_not_uuids_never_name_files(cache):
    for bad in ("../cache.sqlite", "x", "", "0A0B0C0D-0000-4000-8000-000000000001"):
        with pytest.raises(ValueError, match="not an image id"):
            cache.layout.entry(bad)


KILLED_FILL = """
import hashlib, os, signal, sys
from imgreg.cache.cache import ImageCache
from imgreg.cache.sink import STAGE
from tests.support.builders import make_conf, make_image
data = b"k" * (STAGE + STAGE // 2)
image = make_image(id=sys.argv[2], status="active", size=len(data), os_hash_algo="sha512",
                   os_hash_value=hashlib.sha512(data).hexdigest())
cache = ImageCache(make_conf(image_cache_dir=sys.argv[1]))
started = cache.begin_fill(image)
started.write(data[:STAGE])  # one whole buffer: handed to the sink's thread
started.write(data[STAGE:])  # the rest: staged, not yet handed over
started.sink.behind.drain()  # that buffer on the disk
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_fill_killed_midway_leaves_no_hit_and_its_partial_is_cleaned(tmp_path):
    data = b"k" * (STAGE + STAGE // 2)
    image = data_image(data)
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", KILLED_FILL, str(tmp_path), image.id],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    cache = ImageCache(make_conf(image_cache_dir=str(tmp_path), image_cache_stall_time=0))
    # killed mid-fill: its partial file is there, with what reached the disk (the sink's
    # thread writes whole buffers of STAGE bytes)
    assert Path(cache.layout.partial(image.id)).stat().st_size == STAGE
    assert cache.open_hit(image) is None
    assert cache.entries() == []
    assert cache.clean() == 1
    assert cache.layout.partial_names() == []
    assert fill(cache, image, data, block=1 << 20)  # the dead fill's lock went with it
