"""A blob that changed since upload is never served complete (CRC-32 checked on the way out)."""

from __future__ import annotations

import logging
import os

import pytest

from imgreg.domain import errors
from imgreg.integrity.verify import VerifiedReader
from imgreg.layers import location
from imgreg.store import filesystem
from imgreg.store.filesystem import FileReader


def corrupt(store_dir, image_id: str, offset: int, keep_mtime: bool = False) -> None:
    """Flip one byte in place. A write moves the file's mtime on, at the kernel's clock tick;
    to be sure it differs from the one recorded at upload, it is set a second later. With
    ``keep_mtime`` the flip looks like bit rot: the mtime stays what it was."""
    path = store_dir / image_id
    before = path.stat().st_mtime_ns
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    after = before if keep_mtime else before + 1_000_000_000
    os.utime(path, ns=(after, after))


def count_checks(monkeypatch) -> list[int]:
    """Count whole-file CRC reads of the filesystem store."""
    calls: list[int] = []
    real = FileReader.crc32

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(FileReader, "crc32", counting)
    return calls


def test_intact_data_is_served(api):
    image = api.create(name="ok")
    data = bytes(range(256)) * 40000  # ~10 MiB: several store blocks
    assert api.put_file(image["id"], data).status_int == 204
    assert api.get(f"/v2/images/{image['id']}/file").body == data


def test_corrupted_data_is_refused_with_503_before_any_byte(api, store_dir, caplog):
    image = api.create(name="bad")
    data = bytes(range(256)) * 40000
    assert api.put_file(image["id"], data).status_int == 204
    corrupt(store_dir, image["id"], 5_000_000)
    with caplog.at_level(logging.ERROR):
        response = api.get(f"/v2/images/{image['id']}/file")
    assert response.status_int == 503
    assert f"Image {image['id']} data is corrupt" in response.text
    assert "fails its checksum" in caplog.text
    ranged = api.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=0-9"})
    assert ranged.status_int == 206  # a range has no whole-data checksum to check


def test_large_corrupted_data_breaks_off_before_the_last_chunk(api, store_dir, caplog, monkeypatch):
    # Above VERIFY_FIRST_MAX the check runs while streaming; lower the bound to get there.
    monkeypatch.setattr(location, "VERIFY_FIRST_MAX", 1024)
    image = api.create(name="bad")
    data = bytes(range(256)) * 40000
    assert api.put_file(image["id"], data).status_int == 204
    corrupt(store_dir, image["id"], 5_000_000)
    response = api.get(f"/v2/images/{image['id']}/file")  # headers go out first
    assert response.status_int == 200
    sent: list[bytes] = []
    with caplog.at_level(logging.ERROR), pytest.raises(errors.StoreError):
        sent.extend(response.app_iter)
    assert sum(map(len, sent)) < len(data)
    assert "fails its checksum" in caplog.text


class Chunks:
    def __init__(self, chunks):
        self.chunks = chunks
        self.size = sum(map(len, chunks))
        self.closed = False

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed = True


def test_verified_reader_holds_back_the_last_chunk():
    import zlib

    chunks = [b"a" * 10, b"b" * 10, b"c" * 10]
    good = VerifiedReader(Chunks(chunks), zlib.crc32(b"".join(chunks)), "i")
    assert list(good) == chunks
    bad = VerifiedReader(Chunks(chunks), 12345, "i")
    seen = []
    with pytest.raises(errors.StoreError):
        seen.extend(bad)
    assert seen == chunks[:2]
    bad.close()
    assert bad.reader.closed


def test_a_file_checked_recently_is_not_read_again(api, store_dir, monkeypatch):
    checks = count_checks(monkeypatch)
    image = api.create(name="fresh")
    data = os.urandom(3 * 1024 * 1024)
    assert api.put_file(image["id"], data).status_int == 204
    path = f"/v2/images/{image['id']}/file"
    assert api.get(path).body == data
    assert checks == []  # written and checksummed by the upload a moment ago
    os.utime(store_dir / image["id"])  # touched: the mark no longer describes the file
    assert api.get(path).body == data
    assert api.get(path).body == data
    assert checks == [1]  # checked once, then trusted again


def test_bit_rot_is_caught_once_the_interval_has_passed(api, store_dir, monkeypatch):
    image = api.create(name="rot")
    assert api.put_file(image["id"], b"r" * 1_000_000).status_int == 204
    corrupt(store_dir, image["id"], 1234, keep_mtime=True)
    blob = store_dir / image["id"]
    crc, size, mtime_ns, _checked_at = os.getxattr(blob, filesystem.VERIFIED_XATTR).split()
    # the upload's mark, but dated long ago (as if download_verify_interval had passed)
    os.setxattr(blob, filesystem.VERIFIED_XATTR, b" ".join([crc, size, mtime_ns, b"0"]))
    response = api.get(f"/v2/images/{image['id']}/file")
    assert response.status_int == 503
    assert "data is corrupt" in response.text


def test_interval_zero_checks_every_download(api, conf, store_dir, monkeypatch):
    conf.set_override("download_verify_interval", 0)
    checks = count_checks(monkeypatch)
    image = api.create(name="always")
    assert api.put_file(image["id"], b"a" * 100_000).status_int == 204
    api.get(f"/v2/images/{image['id']}/file")
    api.get(f"/v2/images/{image['id']}/file")
    assert checks == [1, 1]
    corrupt(store_dir, image["id"], 10, keep_mtime=True)  # even bit rot, right away
    assert api.get(f"/v2/images/{image['id']}/file").status_int == 503
