"""A blob that changed since upload is never served complete (CRC-32 checked on the way out)."""

from __future__ import annotations

import logging

import pytest

from imgreg.domain import errors
from imgreg.integrity import VerifiedReader


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


def test_corrupted_data_breaks_off_before_the_last_chunk_and_is_logged(api, store_dir, caplog):
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
