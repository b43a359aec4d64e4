"""The store contract (``imgreg.store.Store``), one suite that every driver passes unchanged:
streamed adds with and without a declared size and their size/md5/multihash/CRC-32, ranged
reads, deletes, failed adds that leave nothing behind, full and unreachable storage, and the
listings the reaper relies on (``imgreg.maintenance.recovery``)."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
import zlib

import pytest

from imgreg.domain import errors
from imgreg.maintenance.recovery import blob_image_id
from imgreg.store import Store, StoredBlob
from tests.support.stores import LARGE, SMALL, Broken, Trickle, read_all, stalled, uploading

MiB = 1024 * 1024
SIZES = {"small": SMALL, "large": LARGE}


def new_id() -> str:
    return str(uuid.uuid4())


def assert_empty(store: Store) -> None:
    assert store.list_blobs() == []
    assert store.list_partials() == []


# -- add -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_add_streams_hashes_and_reads_back(store, size, declared):
    data = SIZES[size]
    image_id = new_id()
    blob = store.add(image_id, Trickle(data), len(data) if declared else None, "sha512")
    assert isinstance(blob, StoredBlob)
    assert blob.size == len(data)
    assert blob.checksum == hashlib.md5(data).hexdigest()
    assert (blob.hash_algo, blob.hash_value) == ("sha512", hashlib.sha512(data).hexdigest())
    assert blob.crc32 == zlib.crc32(data)
    assert blob_image_id(blob.url) == image_id
    assert read_all(store, blob.url) == data
    assert store.list_blobs() == [blob.url]
    assert store.list_partials() == []


@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
@pytest.mark.parametrize("size", [MiB - 1, MiB, 2 * MiB])
def test_add_sizes_on_segment_boundaries(store, size, declared):
    data = LARGE[:size]
    blob = store.add(new_id(), io.BytesIO(data), size if declared else None, "sha256")
    assert (blob.size, blob.hash_value) == (size, hashlib.sha256(data).hexdigest())
    assert read_all(store, blob.url) == data
    assert store.list_partials() == []


@pytest.mark.parametrize("declared", [0, None])
def test_add_empty(store, declared):
    blob = store.add(new_id(), io.BytesIO(b""), declared, "sha256")
    assert (blob.size, blob.checksum) == (0, hashlib.md5(b"").hexdigest())
    assert blob.hash_value == hashlib.sha256(b"").hexdigest()
    assert blob.crc32 == 0
    assert read_all(store, blob.url) == b""
    assert store.list_blobs() == [blob.url]


def test_add_upper_case_id_stores_the_canonical_id(store):
    image_id = new_id()
    blob = store.add(image_id.upper(), io.BytesIO(b"x"), 1, "sha512")
    assert blob_image_id(blob.url) == image_id
    assert store.list_blobs() == [blob.url]


def test_blobs_of_several_images_are_listed(store):
    urls = [store.add(new_id(), io.BytesIO(b"data"), 4, "sha512").url for _ in range(3)]
    assert store.list_blobs() == sorted(urls)


# -- open ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("offset", "length"),
    [(0, None), (1000, None), (1000, 5000), (MiB - 10, 20), (MiB + 5, MiB + 1),
     (len(LARGE) - 1, 1), (len(LARGE) - 1, None), (0, 0), (77, 0)],
)  # fmt: skip
def test_open_with_offset_and_length(store, offset, length):
    url = store.add(new_id(), io.BytesIO(LARGE), None, "sha512").url
    end = None if length is None else offset + length
    assert read_all(store, url, offset, length) == LARGE[offset:end]


def test_open_past_the_end_reports_a_short_blob(store):
    url = store.add(new_id(), io.BytesIO(b"abc"), 3, "sha512").url
    reader = store.open(url, 0, 10)
    try:
        assert reader.size == 10
        with pytest.raises(errors.StoreError, match="shorter"):
            b"".join(reader)
    finally:
        reader.close()


def test_open_missing_blob(store):
    url = store.add(new_id(), io.BytesIO(b"abc"), 3, "sha512").url
    store.delete(url)
    with pytest.raises(errors.NotFound):
        store.open(url)


@pytest.mark.parametrize("url", ["http://example.com/x", "file:///etc/passwd", "", "swift://"])
def test_foreign_urls_are_not_found(store, url):
    with pytest.raises(errors.NotFound):
        store.open(url)
    with pytest.raises(errors.NotFound):
        store.delete(url)


# -- delete --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", sorted(SIZES))
def test_delete_is_idempotent_and_leaves_nothing(store, size):
    url = store.add(new_id(), io.BytesIO(SIZES[size]), None, "sha512").url
    other = store.add(new_id(), io.BytesIO(b"stays"), 5, "sha512").url
    store.delete(url)
    assert store.list_blobs() == [other]
    assert store.list_partials() == []
    store.delete(url)  # already gone: no error
    assert read_all(store, other) == b"stays"


def test_delete_of_a_blob_never_written(store):
    url = store.add(new_id(), io.BytesIO(b"abc"), 3, "sha512").url
    never = url.replace(blob_image_id(url), new_id())
    store.delete(never)
    assert store.list_blobs() == [url]


# -- failed adds leave nothing behind ------------------------------------------------------------
@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_source_failing_half_way(store, size, declared):
    data = SIZES[size]
    failure = Broken("the client went away")
    with pytest.raises(Broken) as caught:
        store.add(new_id(), Trickle(data, fail=failure), len(data) if declared else None, "sha512")
    assert caught.value is failure
    assert_empty(store)


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize(("delta", "message"), [(-1, "Size exceeds"), (1, "Size mismatch")])
def test_wrong_expected_size(store, size, delta, message):
    data = SIZES[size]
    with pytest.raises(errors.Invalid, match=message):
        store.add(new_id(), Trickle(data), len(data) + delta, "sha512")
    assert_empty(store)


def test_expected_size_zero_with_data(store):
    with pytest.raises(errors.Invalid, match="Size exceeds"):
        store.add(new_id(), io.BytesIO(b"abc"), 0, "sha512")
    assert_empty(store)


@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_full_store(backend, size, declared):
    store = backend.full()
    data = SIZES[size]
    with pytest.raises(errors.StoreFull):
        store.add(new_id(), io.BytesIO(data), len(data) if declared else None, "sha512")
    assert_empty(store)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_unreachable_store(backend, size):
    store = backend.unreachable()
    data = SIZES[size]
    with pytest.raises(errors.StoreError) as caught:
        store.add(new_id(), io.BytesIO(data), len(data), "sha512")
    assert type(caught.value) is errors.StoreError
    assert "127.0.0.1" not in caught.value.message


def test_check_passes_on_a_working_store(store):
    store.check()  # empty: a new deployment is ready before its first upload
    store.add(new_id(), io.BytesIO(SMALL), len(SMALL), "sha512")
    store.check()


# -- what the reaper sees ------------------------------------------------------------------------


def test_upload_in_flight_is_a_partial_and_then_a_blob(store):
    image_id = new_id()
    before = time.time()
    with uploading(store, image_id, stalled(LARGE)) as outcome:
        (partial,) = store.list_partials()
        assert partial.image_id == image_id
        assert before - 5 <= partial.modified <= time.time() + 5
        assert store.list_blobs() == []
    (blob,) = outcome
    assert store.list_blobs() == [blob.url]
    assert store.list_partials() == []
    assert read_all(store, blob.url) == LARGE


def test_upload_that_fails_after_a_partial_was_listed(store):
    with uploading(store, new_id(), stalled(LARGE, fail=Broken("gone"))) as outcome:
        assert len(store.list_partials()) == 1
    assert isinstance(outcome[0], Broken)
    assert_empty(store)


def test_delete_partial(store):
    with uploading(store, new_id(), stalled(LARGE, fail=Broken("gone"))) as outcome:
        (partial,) = store.list_partials()
        store.delete_partial(partial.name)
        assert store.list_partials() == []
        store.delete_partial(partial.name)  # already gone: no error
    assert isinstance(outcome[0], Broken)
    assert_empty(store)


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".", ".."])
def test_delete_partial_refuses_other_names(store, name):
    with pytest.raises(errors.NotFound):
        store.delete_partial(name)
