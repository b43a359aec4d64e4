"""The filesystem store: streaming add with hashes, clean failure, reads, deletes, durability."""

from __future__ import annotations

import errno
import hashlib
import io
import itertools
import os
import threading
import time
import uuid

import pytest

from imgreg.domain import errors
from imgreg.store import StoredBlob
from imgreg.store import filesystem as fs
from tests.support.builders import make_conf

# Over PARALLEL_MIN, so the two-thread hashing path runs, and over a few (shrunk) blocks.
DATA = os.urandom(300_000)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(fs, "BLOCK", 64 * 1024 + 7)
    return fs.FilesystemStore(make_conf(glance_store__filesystem_store_datadir=str(tmp_path)))


def new_id():
    return str(uuid.uuid4())


def contents(store):
    """(files in the root, files in .partial)"""
    root = sorted(n for n in os.listdir(store.root) if n != ".partial")
    return root, sorted(os.listdir(store.partial))


class Trickle(io.RawIOBase):
    """A stream that hands out small, uneven pieces, as a socket does."""

    def __init__(self, data, fail=None):
        self.data = data
        self.fail = fail
        self.pos = 0

    def read(self, size=-1):
        if self.fail is not None and self.pos >= len(self.data) // 2:
            raise self.fail
        size = len(self.data) if size < 0 else size
        piece = self.data[self.pos : self.pos + min(size, 9_999)]
        self.pos += len(piece)
        return piece


@pytest.mark.parametrize("declared", [len(DATA), None])
def test_add_streams_and_hashes(store, declared):
    image_id = new_id()
    blob = store.add(image_id, Trickle(DATA), declared, "sha512")
    final = os.path.join(store.root, image_id)
    assert isinstance(blob, StoredBlob)
    assert (blob.url, blob.size) == (f"file://{final}", len(DATA))
    assert blob.checksum == hashlib.md5(DATA).hexdigest()
    assert (blob.hash_algo, blob.hash_value) == ("sha512", hashlib.sha512(DATA).hexdigest())
    with open(final, "rb") as f:
        assert f.read() == DATA
    assert contents(store) == ([image_id], [])


def test_add_empty(store):
    blob = store.add(new_id(), io.BytesIO(b""), 0, "sha256")
    assert (blob.size, blob.checksum) == (0, hashlib.md5(b"").hexdigest())
    assert blob.hash_value == hashlib.sha256(b"").hexdigest()


def test_add_upper_case_id_lands_at_the_canonical_name(store):
    image_id = new_id()
    blob = store.add(image_id.upper(), io.BytesIO(b"x"), 1, "sha512")
    assert blob.url == f"file://{store.root}/{image_id}"
    assert contents(store) == ([image_id], [])


@pytest.mark.parametrize(
    ("declared", "message"),
    [(len(DATA) - 1, "Size exceeds"), (len(DATA) + 1, "Size mismatch"), (0, "Size exceeds")],
)
def test_add_with_wrong_expected_size(store, declared, message):
    with pytest.raises(errors.Invalid, match=message):
        store.add(new_id(), Trickle(DATA), declared, "sha512")
    assert contents(store) == ([], [])


@pytest.mark.parametrize(
    ("code", "error"),
    [(errno.ENOSPC, errors.StoreFull), (errno.EDQUOT, errors.StoreFull),
     (errno.EIO, errors.StoreError)],
)  # fmt: skip
def test_stream_oserror(store, code, error):
    with pytest.raises(error) as caught:
        store.add(new_id(), Trickle(DATA, fail=OSError(code, "boom /secret/path")), None, "sha512")
    assert type(caught.value) is error
    assert "/secret/path" not in caught.value.message
    assert contents(store) == ([], [])


@pytest.mark.parametrize(
    ("code", "error"), [(errno.ENOSPC, errors.StoreFull), (errno.EIO, errors.StoreError)]
)
def test_write_oserror(store, monkeypatch, code, error):
    real_write = os.write
    writes = []

    def write(fd, data):
        writes.append(len(data))
        if len(writes) == 3:
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(error):
        store.add(new_id(), io.BytesIO(DATA), len(DATA), "sha512")
    assert len(writes) == 3
    assert contents(store) == ([], [])


def test_unexpected_exception_also_cleans_up(store):
    with pytest.raises(ZeroDivisionError):
        store.add(new_id(), Trickle(DATA, fail=ZeroDivisionError()), None, "sha512")
    assert contents(store) == ([], [])


def test_write_order_is_durable(store, monkeypatch):
    """temp write → fsync(file) → rename into place → fsync(directory)."""
    events = []
    names = {}
    real = {name: getattr(os, name) for name in ("open", "write", "fsync", "rename")}

    def fake_open(path, flags, *args):
        fd = real["open"](path, flags, *args)
        names[fd] = path
        return fd

    def fake_write(fd, data):
        events.append(("write", names.get(fd)))
        return real["write"](fd, data)

    def fake_fsync(fd):
        events.append(("fsync", names.get(fd)))
        return real["fsync"](fd)

    def fake_rename(src, dst):
        events.append(("rename", src, dst))
        return real["rename"](src, dst)

    for name, fake in [("open", fake_open), ("write", fake_write), ("fsync", fake_fsync),
                       ("rename", fake_rename)]:  # fmt: skip
        monkeypatch.setattr(os, name, fake)
    image_id = new_id()
    store.add(image_id, io.BytesIO(DATA), len(DATA), "sha512")
    monkeypatch.undo()

    writes = [e for e in events if e[0] == "write"]
    temp = writes[0][1]
    assert os.path.dirname(temp) == store.partial
    assert set(writes) == {("write", temp)}
    final = os.path.join(store.root, image_id)
    assert events[len(writes) :] == [
        ("fsync", temp),
        ("rename", temp, final),
        ("fsync", store.root),
    ]


def test_open_with_offset_and_length(store):
    url = store.add(new_id(), io.BytesIO(DATA), None, "sha512").url
    for offset, length, expected in [
        (0, None, DATA),
        (1000, None, DATA[1000:]),
        (1000, 5000, DATA[1000:6000]),
        (len(DATA) - 1, 1, DATA[-1:]),
        (0, 0, b""),
    ]:
        reader = store.open(url, offset, length)
        try:
            assert reader.size == len(expected)
            assert b"".join(reader) == expected
        finally:
            reader.close()


def test_open_missing_blob(store):
    with pytest.raises(errors.NotFound):
        store.open(f"file://{store.root}/{new_id()}")


def test_open_past_the_end_reports_a_short_blob(store):
    url = store.add(new_id(), io.BytesIO(b"abc"), 3, "sha512").url
    reader = store.open(url, 0, 10)
    try:
        with pytest.raises(errors.StoreError, match="shorter"):
            b"".join(reader)
    finally:
        reader.close()


def test_delete_is_idempotent(store):
    url = store.add(new_id(), io.BytesIO(b"abc"), 3, "sha512").url
    store.delete(url)
    assert contents(store) == ([], [])
    store.delete(url)
    assert contents(store) == ([], [])


def bad_urls(store, outside):
    image_id = new_id()
    return [
        f"file://{outside}/{image_id}",  # another directory
        f"file://{store.root}/../{os.path.basename(outside)}/{image_id}",  # climbing out
        f"file://{store.root}/not-a-uuid",
        f"file://{store.partial}/{image_id}",  # a partial upload is no blob
        f"http://{store.root}/{image_id}",
        f"{store.root}/{image_id}",
    ]


@pytest.mark.parametrize("index", range(6))
@pytest.mark.parametrize("op", ["delete", "open"])
def test_urls_outside_the_store_are_refused(store, tmp_path_factory, index, op):
    outside = str(tmp_path_factory.mktemp("outside"))
    url = bad_urls(store, outside)[index]
    victim = url.split("://", 1)[-1]
    os.makedirs(os.path.dirname(os.path.normpath(victim)), exist_ok=True)
    with open(victim, "wb") as f:
        f.write(b"precious")
    with pytest.raises(errors.NotFound, match="Image data not found"):
        getattr(store, op)(url)
    with open(victim, "rb") as f:
        assert f.read() == b"precious"


def test_check_passes_on_a_writable_store_and_fails_when_it_is_gone(store):
    store.check()
    os.rmdir(store.partial)  # the directory was removed or its file system unmounted
    with pytest.raises(errors.StoreError, match="missing or read-only"):
        store.check()


class HoldBack(io.BytesIO):
    """Hands out its last block only once ``until`` is set (or after 10 s)."""

    def __init__(self, data, until):
        super().__init__(data)
        self.size = len(data)
        self.until = until

    def read(self, size=-1):
        if size >= 0 and self.tell() + size >= self.size:
            self.until.wait(10)
        return super().read(size)


def test_written_data_is_flushed_while_the_upload_goes_on(store, monkeypatch):
    # one write in flight at a time: the second block's write is done when the third block
    # is read, and the flush it starts must run before the last block is even read
    monkeypatch.setattr(fs, "DEPTH", 1)
    monkeypatch.setattr(fs, "FLUSH_EVERY", 100_000)
    real_fdatasync = os.fdatasync
    flushed_at = []  # bytes on file when each early flush ran
    flushed = threading.Event()

    def fdatasync(fd):
        flushed_at.append(os.fstat(fd).st_size)
        flushed.set()
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    blob = store.add(new_id(), HoldBack(DATA, flushed), len(DATA), "sha512")
    assert blob.size == len(DATA)
    assert flushed_at, "no flush before the final fsync"
    assert 0 < flushed_at[0] < len(DATA)  # a later one may find the last block written


def test_a_failed_early_flush_fails_the_upload(store, monkeypatch):
    """Linux tells one fsync of a file about a writeback error, not every later one: the
    error an early flush saw must fail the upload itself."""
    monkeypatch.setattr(fs, "FLUSH_EVERY", 100_000)

    def fdatasync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    with pytest.raises(errors.StoreError):
        store.add(new_id(), io.BytesIO(DATA), len(DATA), "sha512")
    assert contents(store) == ([], [])


def test_a_one_block_upload_starts_no_thread(store, monkeypatch):
    submitted = []
    real_submit = fs.concurrent.futures.ThreadPoolExecutor.submit

    def submit(self, fn, *args, **kwargs):
        submitted.append(fn)
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(fs.concurrent.futures.ThreadPoolExecutor, "submit", submit)
    one_block = DATA[: fs.BLOCK]
    blob = store.add(new_id(), io.BytesIO(one_block), None, "sha512")
    assert blob.checksum == hashlib.md5(one_block).hexdigest()
    assert submitted == []
    store.add(new_id(), io.BytesIO(DATA), None, "sha512")  # several blocks: threads work
    assert submitted


def _record_flushes(monkeypatch):
    """Calls of fdatasync/fsync/posix_fadvise during an add, in order."""
    events = []
    real = {name: getattr(os, name) for name in ("fdatasync", "fsync", "posix_fadvise")}

    def recorder(name):
        def call(fd, *args):
            events.append((name, *args))
            return real[name](fd, *args)

        return call

    for name in real:
        monkeypatch.setattr(os, name, recorder(name))
    return events


def _dropping_store(root):
    conf = make_conf(
        glance_store__filesystem_store_datadir=str(root),
        glance_store__filesystem_store_drop_cache=True,
    )
    return fs.FilesystemStore(conf)


def test_flushed_ranges_leave_the_page_cache_with_drop_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(fs, "BLOCK", 64 * 1024 + 7)  # five blocks: at least one early flush
    monkeypatch.setattr(fs, "FLUSH_EVERY", 100_000)
    store = _dropping_store(tmp_path)
    events = _record_flushes(monkeypatch)
    image_id = new_id()
    store.add(image_id, io.BytesIO(DATA), len(DATA), "sha512")
    drops = [e for e in events if e[0] == "posix_fadvise"]
    assert all(advice == os.POSIX_FADV_DONTNEED for _, _, _, advice in drops)
    # each early drop follows a flush and starts where the last one ended; the last drop
    # (offset 0, length 0: the whole file) comes after the final fsync
    early = [(offset, length) for _, offset, length, _ in drops[:-1]]
    assert early and early[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(early))
    for i, event in enumerate(events):
        if event[0] == "posix_fadvise" and event is not drops[-1]:
            assert events[i - 1][0] == "fdatasync"
    # the file's fsync, the drop, then the directory's fsync after the rename
    assert events[-3:] == [("fsync",), ("posix_fadvise", 0, 0, os.POSIX_FADV_DONTNEED), ("fsync",)]
    with open(os.path.join(store.root, image_id), "rb") as f:
        assert f.read() == DATA


def test_a_dropped_range_was_written_before_its_flush(tmp_path, monkeypatch):
    # small blocks and a writer that lags behind the reader: a range handed to the flusher
    # must end at bytes written, not at bytes still queued for the writer
    monkeypatch.setattr(fs, "BLOCK", 16_384)
    monkeypatch.setattr(fs, "FLUSH_EVERY", 50_000)
    store = _dropping_store(tmp_path)
    events = _record_flushes(monkeypatch)
    real_write = os.write

    def slow_write(fd, data):
        time.sleep(0.003)
        written = real_write(fd, data)
        events.append(("write", written))
        return written

    monkeypatch.setattr(os, "write", slow_write)
    store.add(new_id(), io.BytesIO(DATA), len(DATA), "sha512")
    written, at_flush, checked = 0, None, 0
    for event in events:  # the writer's writes interleave with the flusher's calls
        if event[0] == "write":
            written += event[1]
        elif event[0] == "fdatasync":
            at_flush = written
        elif event[0] == "posix_fadvise" and event[2]:  # an early drop (not the whole file)
            assert at_flush is not None
            offset, length = event[1], event[2]
            assert offset + length <= at_flush, (offset, length, at_flush)
            checked += 1
    assert checked  # the first flush always runs (later ones are skipped while one runs)


def test_by_default_the_page_cache_is_left_alone(store, monkeypatch):
    monkeypatch.setattr(fs, "FLUSH_EVERY", 100_000)
    events = _record_flushes(monkeypatch)
    store.add(new_id(), io.BytesIO(DATA), len(DATA), "sha512")
    assert "fdatasync" in [e[0] for e in events]  # the early flushes still run
    assert "posix_fadvise" not in [e[0] for e in events]


@pytest.mark.parametrize("form", ["{root}//{id}", "{root}/./{id}", "{root}///{id}"])
def test_blob_id_takes_only_the_canonical_url(store, form):
    """Two spellings of one blob would let a location be added twice, and removing one of them
    would delete the data the other still names."""
    image_id = new_id()
    assert store.blob_id(f"file://{store.root}/{image_id}") == image_id
    with pytest.raises(errors.NotFound):
        store.blob_id("file://" + form.format(root=store.root, id=image_id))
