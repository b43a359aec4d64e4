"""Acceptance: the ``glance cache-*`` commands against a live ``imgreg-api`` (two gunicorn
workers) with ``image_cache_dir``, and downloads through its cache (sendfile on a hit)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.cache_client import cache_table, download, wait_cached
from tests.e2e.clients import fails, ok, properties, write_image
from tests.support.server import start_api, stop

# tools/test's first pass only (SQLite, ``first_pass``): the cache keeps its own SQLite catalog
# beside its files, whatever the database; the image rows it checks are read as every download
# reads them (tests/functional/test_download.py runs on every engine)
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]


@pytest.fixture
def server_options(tmp_path: Path) -> dict[str, object]:
    return {"image_cache_dir": tmp_path / "cache", "image_cache_period": 0}


def test_glance_cache_commands(server, tmp_path: Path):
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=3)
    image_id = properties(
        ok(server, "image-create", "--file", str(source), "--disk-format", "raw",
           "--container-format", "bare")
    )["id"]  # fmt: skip
    other_id = properties(
        ok(server, "image-create", "--file", str(source), "--disk-format", "raw",
           "--container-format", "bare")
    )["id"]  # fmt: skip
    assert cache_table(server) == {}

    # queue: listed as queued
    ok(server, "cache-queue", image_id)
    assert cache_table(server)[image_id][0] == "queued"

    # the first download fills the cache (and takes the image off the queue), the next is a hit
    out = tmp_path / "out.raw"
    ok(server, "image-download", "--file", str(out), image_id)
    assert out.read_bytes() == data
    wait_cached(server, image_id)
    assert (tmp_path / "cache" / image_id).read_bytes() == data
    assert download(server, image_id).content == data
    state, _accessed, _modified, size, hits = cache_table(server)[image_id]
    assert (state, size, hits) == ("cached", str(len(data)), "1")
    ranged = download(server, image_id, Range="bytes=100-199")
    assert ranged.status_code == 206 and ranged.content == data[100:200]

    # delete one, then clear by target
    ok(server, "cache-delete", image_id)
    assert image_id not in cache_table(server)
    download(server, image_id)
    wait_cached(server, image_id)
    ok(server, "cache-queue", other_id)
    ok(server, "cache-clear", "--target", "queue")
    assert list(cache_table(server)) == [image_id]
    ok(server, "cache-queue", other_id)
    ok(server, "cache-clear")
    assert cache_table(server) == {}

    # 2.18: prune (nothing over the 10 GiB default) and clean
    download(server, image_id)
    wait_cached(server, image_id)
    assert "Pruned 0 file(s), 0 byte(s)." in ok(server, "cache-prune")
    ok(server, "cache-clean")
    assert list(cache_table(server)) == [image_id]


def test_a_corrupted_copy_is_never_served_by_the_server(server, tmp_path: Path):
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=2)
    image_id = properties(
        ok(server, "image-create", "--file", str(source), "--disk-format", "raw",
           "--container-format", "bare")
    )["id"]  # fmt: skip
    download(server, image_id)
    wait_cached(server, image_id)
    copy = tmp_path / "cache" / image_id
    with copy.open("r+b") as f:
        f.seek(12345)
        f.write(bytes([data[12345] ^ 0x80]))
    assert download(server, image_id).content == data  # the store's bytes
    wait_cached(server, image_id)
    assert copy.read_bytes() == data  # evicted, then filled again by that download
    assert cache_table(server)[image_id][4] == "0"


def test_without_a_cache_dir_glance_says_the_cache_api_is_missing(server_without_cache):
    assert "does not support image caching API" in fails(server_without_cache, "cache-list")


@pytest.fixture
def server_without_cache(tmp_path: Path, clean_db: str):
    srv = start_api(tmp_path / "plain", clean_db)
    try:
        yield srv
    finally:
        stop(srv)


@pytest.fixture
def full_cache_dir(tmp_path: Path):
    """A cache directory on a real filesystem of 1 MiB (a tmpfs: the tests run as root, as CI
    does), too small for the images downloaded through it."""
    path = tmp_path / "small"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_cache_disk_never_fails_a_download(tmp_path: Path, clean_db: str, full_cache_dir):
    srv = start_api(tmp_path / "api", clean_db, {"image_cache_dir": full_cache_dir})
    try:
        source = tmp_path / "disk.raw"
        data = write_image(source, "raw", data_mib=3)
        image_id = properties(
            ok(srv, "image-create", "--file", str(source), "--disk-format", "raw",
               "--container-format", "bare")
        )["id"]  # fmt: skip
        for _ in range(3):  # each download tries to fill, runs out of room, and serves on
            out = tmp_path / "out.raw"
            ok(srv, "image-download", "--file", str(out), image_id)
            assert out.read_bytes() == data
        assert image_id not in cache_table(srv)
        assert not (full_cache_dir / image_id).exists()
        assert list((full_cache_dir / "incomplete").iterdir()) == []
    finally:
        stop(srv)
