"""Location: an upload's session writes to a real filesystem store over the records' ledger;
the image records what the store reports."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.layers.location import LocationImageFactory, LocationImageRepo
from imgreg.store.filesystem import FilesystemStore
from imgreg.store.registry import Stores
from tests.support import images
from tests.support.builders import make_conf, make_image, member
from tests.unit.layers.recording import RecordingFactory, RecordingLedger, RecordingRepo

DATA = os.urandom(100_000)


@pytest.fixture
def conf(tmp_path):
    return make_conf(glance_store__filesystem_store_datadir=str(tmp_path / "store"))


@pytest.fixture
def store(conf):
    return FilesystemStore(conf)


def saving(**fields):
    fields.setdefault("disk_format", "raw")
    return make_image(status="saving", container_format="bare", **fields)


def blobs(store):
    return sorted(os.listdir(store.root)), os.listdir(store.partial)


def repo(inner, store, conf):
    return LocationImageRepo(inner, member(), Stores.single(store), conf)


def begin(inner, store, conf, image):
    return repo(inner, store, conf).begin_upload(image, UploadTerms())


def upload(store, conf, image, stream, size):
    """Write ``stream`` to ``image`` in a session over a recording ledger."""
    begin(RecordingRepo(), store, conf, image).write(stream, size)


def test_upload_records_the_blob_and_activates(store, conf):
    inner = RecordingRepo()
    image = saving()
    session = begin(inner, store, conf, image)
    assert inner.only("begin_upload").args == (image,)  # the records' ledger
    ledger = session.ledger
    assert session.image is image
    result = session.write(io.BytesIO(DATA), len(DATA))
    assert result is image
    assert image.status == "active"
    assert image.size == image.virtual_size == len(DATA)
    assert image.checksum == hashlib.md5(DATA).hexdigest()
    assert image.os_hash_algo == "sha512"
    assert image.os_hash_value == hashlib.sha512(DATA).hexdigest()
    assert image.locations == [f"file://{store.root}/{image.id}"]
    with open(os.path.join(store.root, image.id), "rb") as f:
        assert f.read() == DATA
    assert ledger.names() == ["renew"]  # the lease held when the blob landed; nothing saved
    assert session.commit() is image
    assert ledger.names() == ["renew", "commit"]  # the row is saved at the commit
    assert ledger.calls[1].images[0].locations == image.locations


def test_upload_uses_the_configured_algorithm(store, conf):
    conf.set_override("hashing_algorithm", "sha256")
    image = saving(disk_format="ami")
    upload(store, conf, image, io.BytesIO(DATA), None)
    assert image.os_hash_algo == "sha256"
    assert image.os_hash_value == hashlib.sha256(DATA).hexdigest()
    assert image.size == len(DATA)
    assert image.virtual_size is None  # ami has no header to read it from


def test_failed_upload_changes_nothing(store, conf):
    image = saving()
    with pytest.raises(errors.Invalid, match="Size mismatch"):
        upload(store, conf, image, io.BytesIO(DATA), len(DATA) + 1)
    assert (image.status, image.size, image.checksum, image.locations) == ("saving", None, None, [])
    assert blobs(store) == ([".partial"], [])


UNSAFE = images.qcow2_header(backing_file_offset=0x200) + DATA


def test_inspection_refusal_changes_nothing(store, conf):
    image = saving()  # even a raw claim: the detected qcow2's safety checks run
    with pytest.raises(errors.UnsupportedMediaType, match="safety checks: backing_file"):
        upload(store, conf, image, io.BytesIO(UNSAFE), len(UNSAFE))
    assert (image.status, image.size, image.checksum, image.locations) == ("saving", None, None, [])
    assert blobs(store) == ([".partial"], [])


def test_inspection_sets_virtual_size(store, conf):
    image = saving(disk_format="qcow2")
    data = images.qcow2(DATA)
    upload(store, conf, image, io.BytesIO(data), None)
    assert (image.status, image.size, image.virtual_size) == ("active", len(data), 64 << 20)


class ExactStore(FilesystemStore):
    """A store that reads exactly the declared size and never reads the end of the stream."""

    def add(self, image_id, stream, expected_size, hash_algo):
        data = stream.read(expected_size)
        return super().add(image_id, io.BytesIO(data), expected_size, hash_algo)


def test_a_store_that_stops_short_still_gets_judged(conf):
    store = ExactStore(conf)
    with pytest.raises(errors.UnsupportedMediaType, match="backing_file"):
        upload(store, conf, saving(), io.BytesIO(UNSAFE), len(UNSAFE))
    assert blobs(store) == ([".partial"], [])


def test_upload_to_an_image_that_cannot_activate(store, conf):
    """The blob written is still the session's, so its abort deletes it."""
    image = make_image(status="killed", disk_format="raw", container_format="bare")
    session = begin(RecordingRepo(), store, conf, image)
    with pytest.raises(errors.InvalidTransition):
        session.write(io.BytesIO(b"x"), 1)
    assert image.status == "killed"
    assert image.id in blobs(store)[0]
    session.abort()
    assert blobs(store) == ([".partial"], [])
    assert session.ledger.names() == ["renew", "abort"]


def test_abort_after_the_data_is_in_deletes_the_blob(store, conf):
    image = saving()
    restored = make_image(id=image.id, status="queued")
    inner = RecordingRepo(begin_upload=lambda image: RecordingLedger(image, abort=restored))
    session = begin(inner, store, conf, image)
    session.write(io.BytesIO(DATA), len(DATA))
    assert session.abort() is restored
    assert blobs(store) == ([".partial"], [])


def stored_image(store):
    image = make_image(status="active")
    image.locations = [store.add(image.id, io.BytesIO(DATA), len(DATA), "sha512").url]
    return image


def test_remove_removes_the_row_then_the_blob(store, conf):
    image = stored_image(store)
    seen = []
    inner = RecordingRepo(remove=lambda image: seen.append(blobs(store)[0]))
    repo(inner, store, conf).remove(image)
    assert seen == [[".partial", image.id]]  # the blob was still there when the row went
    assert inner.only("remove").args == (image,)
    assert blobs(store) == ([".partial"], [])


def test_remove_keeps_the_blob_when_the_row_stays(store, conf):
    image = stored_image(store)
    inner = RecordingRepo(remove=errors.NotFound("gone"))
    with pytest.raises(errors.NotFound):
        repo(inner, store, conf).remove(image)
    assert image.id in blobs(store)[0]


def test_remove_deletes_every_location_and_tolerates_failures(store, conf):
    first, second = stored_image(store), stored_image(store)
    image = make_image(locations=["file:///not/in/the/store", *first.locations, *second.locations])
    inner = RecordingRepo()
    repo(inner, store, conf).remove(image)
    assert blobs(store) == ([".partial"], [])
    assert inner.names() == ["remove"]


def test_open_data_reads_back(store, conf):
    image = stored_image(store)
    reader = repo(RecordingRepo(), store, conf).open_data(image, 10, 20)
    try:
        assert reader.size == 20
        assert b"".join(reader) == DATA[10:30]
    finally:
        reader.close()


def test_open_data_without_locations(store, conf):
    with pytest.raises(errors.NotFound, match="has no data"):
        repo(RecordingRepo(), store, conf).open_data(make_image())


def test_factory_passes_through():
    inner = RecordingFactory()
    image = LocationImageFactory(inner, member()).new_image("p", name="n")
    assert (inner.only("new_image").args, image.name) == (("p",), "n")
