"""A blob that changed since upload is never served complete (CRC-32 checked on the way out)."""

from __future__ import annotations

import logging

import pytest

from imgreg.domain import errors
from imgreg.integrity import VerifiedReader
from imgreg.layers import location


def corrupt(store_dir, image_id: str, offset: int) -> None:
    path = store_dir / image_id
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


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
