"""The filesystem store writes uploads with O_DIRECT (``filesystem_store_direct_io``): past the
page cache, byte-exact whatever the size, and as before where the filesystem refuses it."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import uuid

import pytest

from imgreg.store import direct_io
from imgreg.store import filesystem as fs
from tests.support.builders import make_conf

O_DIRECT = os.O_DIRECT
BLOCK = 64 * 1024 + 7  # shrunk, and not a multiple of 4096: blocks end mid-page


class Trickle(io.RawIOBase):
    """Small, uneven pieces, as a socket hands them out."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, size=-1):
        size = len(self.data) if size < 0 else size
        piece = self.data[self.pos : self.pos + min(size, 9_999)]
        self.pos += len(piece)
        return piece


def make_store(root, monkeypatch, **options):
    monkeypatch.setattr(fs, "BLOCK", BLOCK)
    conf = make_conf(glance_store__filesystem_store_datadir=str(root), **options)
    return fs.FilesystemStore(conf)


def fd_flags(fd):
    with open(f"/proc/self/fdinfo/{fd}") as info:
        for line in info:
            if line.startswith("flags:"):
                return int(line.split()[1], 8)
    raise AssertionError("no flags in fdinfo")


def spy_writes(monkeypatch):
    """(length, direct?) of every os.write, the flag read from the descriptor as it runs."""
    real_write = os.write
    writes = []

    def write(fd, data):
        writes.append((len(data), bool(fd_flags(fd) & O_DIRECT)))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    return writes


def stored(store, image_id):
    with open(os.path.join(store.root, image_id), "rb") as f:
        return f.read()


SIZES = [0, 1, 4095, 4096, 4097, 3 * BLOCK, 5 * 4096 * 16 + 123]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("piecewise", [False, True])
def test_uploads_are_written_past_the_page_cache_and_byte_exact(
    tmp_path, monkeypatch, size, piecewise
):
    store = make_store(tmp_path, monkeypatch)  # the option's default
    data = os.urandom(size)
    writes = spy_writes(monkeypatch)
    image_id = str(uuid.uuid4())
    stream = Trickle(data) if piecewise else io.BytesIO(data)
    blob = store.add(image_id, stream, None, "sha512")
    monkeypatch.undo()
    assert stored(store, image_id) == data
    assert blob.size == size
    assert blob.checksum == hashlib.md5(data).hexdigest()
    assert blob.hash_value == hashlib.sha512(data).hexdigest()
    whole = size - size % 4096
    # every whole page went to the disk directly, in page multiples; only the tail did not
    assert sum(n for n, direct in writes if direct) == whole
    assert all(n % 4096 == 0 for n, direct in writes if direct)
    assert sum(n for n, direct in writes if not direct) == size - whole
    assert not os.listdir(store.partial)


def test_without_the_option_uploads_go_through_the_page_cache(tmp_path, monkeypatch):
    store = make_store(tmp_path, monkeypatch, glance_store__filesystem_store_direct_io=False)
    data = os.urandom(3 * BLOCK)
    writes = spy_writes(monkeypatch)
    image_id = str(uuid.uuid4())
    store.add(image_id, io.BytesIO(data), len(data), "sha512")
    monkeypatch.undo()
    assert writes and not any(direct for _, direct in writes)
    assert stored(store, image_id) == data


def test_a_filesystem_refusing_o_direct_gets_a_buffered_upload(tmp_path, monkeypatch):
    """tmpfs answers an open with O_DIRECT with EINVAL: the upload is written as without it."""
    store = make_store(tmp_path, monkeypatch)
    real_open = os.open
    opens = []

    def tmpfs_open(path, flags, *args, **kwargs):
        opens.append(flags)
        if flags & O_DIRECT:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", tmpfs_open)
    writes = spy_writes(monkeypatch)
    data = os.urandom(3 * BLOCK + 1)
    image_id = str(uuid.uuid4())
    blob = store.add(image_id, Trickle(data), len(data), "sha512")
    monkeypatch.undo()
    assert opens[0] & O_DIRECT and not opens[1] & O_DIRECT
    assert not any(direct for _, direct in writes)
    assert stored(store, image_id) == data
    assert blob.checksum == hashlib.md5(data).hexdigest()


def test_a_refused_direct_write_goes_on_through_the_page_cache(tmp_path, monkeypatch):
    """A filesystem that takes the flag at open but refuses the write (EINVAL): the same
    bytes are written without it, from that write on."""
    store = make_store(tmp_path, monkeypatch)
    real_write = os.write
    refused = []

    def picky_write(fd, data):
        if fd_flags(fd) & O_DIRECT and len(refused) < 1 and len(data) > 4096:
            refused.append(len(data))
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", picky_write)
    data = os.urandom(4 * BLOCK + 5)
    image_id = str(uuid.uuid4())
    store.add(image_id, Trickle(data), len(data), "sha512")
    monkeypatch.undo()
    assert refused
    assert stored(store, image_id) == data


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_a_failed_direct_write_fails_the_upload_and_leaves_nothing(tmp_path, monkeypatch, code):
    store = make_store(tmp_path, monkeypatch)
    real_write = os.write
    calls = []

    def failing_write(fd, data):
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    data = os.urandom(4 * BLOCK)
    with pytest.raises((fs.errors.StoreFull, fs.errors.StoreError)):
        store.add(str(uuid.uuid4()), io.BytesIO(data), len(data), "sha512")
    monkeypatch.undo()
    assert os.listdir(store.partial) == []
    assert [n for n in os.listdir(store.root) if n != ".partial"] == []


def test_the_aligned_writer_keeps_one_buffer(tmp_path):
    path = str(tmp_path / "f")
    fd, direct = direct_io.open_direct(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    assert direct  # this test's directory is on a filesystem that takes O_DIRECT
    writer = direct_io.AlignedWriter(fd, 10_000)
    stage = writer.stage
    data = os.urandom(200_001)
    for i in range(0, len(data), 7_777):
        writer.write(data[i : i + 7_777])
        assert writer.stage is stage and writer.staged < 4096
    writer.finish()
    writer.close()
    os.close(fd)
    with open(path, "rb") as f:
        assert f.read() == data
