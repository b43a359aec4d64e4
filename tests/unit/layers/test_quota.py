"""Quotas: property/tag/image counts, and the terms of an upload (the size cap and the storage
quota), which ``QuotaImageRepo.begin_upload`` passes inward and the session
(``imgreg.layers.upload``: the limiting reader, the reservation) enforces on the bytes."""

from __future__ import annotations

import io

import pytest

from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.layers.quota import QuotaImageFactory, QuotaImageRepo, parse_storage_quota
from imgreg.layers.upload import RESERVE_STEP, DataUpload, LimitingReader, Reservation
from imgreg.store.registry import Stores
from tests.support.builders import make_conf, make_image, member
from tests.unit.layers.recording import (
    MemoryStore,
    RecordingFactory,
    RecordingLedger,
    RecordingRepo,
)

LIMIT = 10


def limited(data, limit=LIMIT):
    source = io.BytesIO(data)
    return source, LimitingReader(source, limit, errors.QuotaExceeded("too big"))


def read_all(reader, chunk, pieces=None):
    pieces = [] if pieces is None else pieces
    while piece := reader.read(chunk):
        pieces.append(piece)
    return b"".join(pieces)


@pytest.mark.parametrize("chunk", [-1, 1, 3, LIMIT, 4096])
def test_reader_passes_exactly_the_limit(chunk):
    _source, reader = limited(b"x" * LIMIT)
    assert read_all(reader, chunk) == b"x" * LIMIT
    assert reader.count == LIMIT


@pytest.mark.parametrize("chunk", [-1, 1, 3, LIMIT, 4096])
def test_reader_raises_after_limit_plus_one(chunk):
    source, reader = limited(b"x" * (LIMIT + 50))
    pieces = []
    with pytest.raises(errors.QuotaExceeded, match="too big"):
        read_all(reader, chunk, pieces)
    got = b"".join(pieces)
    assert len(got) <= LIMIT  # never hands out a byte past the limit
    assert source.tell() == LIMIT + 1  # and reads just one byte past it to notice


def test_reader_does_not_raise_before_the_overrun():
    _source, reader = limited(b"x" * (LIMIT + 1))
    assert reader.read(LIMIT) == b"x" * LIMIT
    with pytest.raises(errors.QuotaExceeded):
        reader.read(1)


def conf(**overrides):
    return make_conf(**overrides)


def saving():
    return make_image(status="saving", disk_format="raw", container_format="bare")


def test_begin_upload_passes_the_cap_and_the_storage_quota_inward():
    inner = RecordingRepo()
    image = saving()
    repo = QuotaImageRepo(inner, member(), conf(image_size_cap=100, user_storage_quota="1KB"))
    session = repo.begin_upload(image, UploadTerms())
    call = inner.only("begin_upload")
    assert call.args == (image, UploadTerms(size_cap=100, storage_quota=1024))
    assert session.image is image  # the inner session itself, not wrapped


def test_no_quota_configured_is_no_storage_quota():
    inner = RecordingRepo()
    QuotaImageRepo(inner, member(), conf()).begin_upload(saving(), UploadTerms())
    assert inner.only("begin_upload").args[1].storage_quota == 0


class Usage:
    """``reserve`` as the database answers it: ``used`` bytes of the quota are taken; a
    grant is what remains, up to ``wanted``, if at least ``needed`` remains."""

    def __init__(self, used: int) -> None:
        self.used = used
        self.requests: list[tuple[int, int]] = []

    def __call__(self, needed, wanted, quota):
        self.requests.append((needed, wanted))
        remaining = max(0, quota - self.used)
        if remaining < needed:
            return 0, remaining
        granted = min(wanted, remaining)
        self.used += granted
        return granted, remaining


class Upload:
    """An upload as the chain runs it: ``QuotaImageRepo.begin_upload`` decides the terms, the
    location layer's ``DataUpload`` writes over a recording ledger (reserving through
    ``used``, when given) into a ``MemoryStore``."""

    def __init__(self, used: int | None = None, **overrides) -> None:
        self.image = saving()
        self.conf = conf(**overrides)
        inner = RecordingRepo()
        QuotaImageRepo(inner, member(), self.conf).begin_upload(self.image, UploadTerms())
        self.terms = inner.only("begin_upload").args[1]
        self.usage = Usage(used) if used is not None else None
        results = {"reserve": self.usage} if self.usage is not None else {}
        self.ledger = RecordingLedger(self.image, **results)
        self.store = MemoryStore()

    def write(self, stream, size):
        session = DataUpload(self.ledger, Stores.single(self.store), self.terms, self.conf)
        return session.write(stream, size)

    def reserved(self):
        return [c.args for c in self.ledger.calls if c.name == "reserve"]


def test_declared_size_over_the_cap_is_refused_before_upload():
    upload = Upload(image_size_cap=100)
    stream = io.BytesIO(b"x" * 101)
    with pytest.raises(errors.QuotaExceeded, match="The incoming image is too large"):
        upload.write(stream, 101)
    assert upload.store.added == []
    assert stream.tell() == 0


def test_declared_size_at_the_cap_goes_through():
    upload = Upload(image_size_cap=100)
    image = upload.write(io.BytesIO(b"x" * 100), 100)
    assert upload.store.blobs == {f"memory://{image.id}": b"x" * 100}
    assert (image.size, image.status) == (100, "active")


def test_undeclared_stream_at_the_cap_goes_through():
    upload = Upload(image_size_cap=100)
    assert upload.write(io.BytesIO(b"x" * 100), None).size == 100


def test_undeclared_stream_over_the_cap_fails_while_streaming():
    upload = Upload(image_size_cap=100)
    with pytest.raises(errors.QuotaExceeded, match="too large"):
        upload.write(io.BytesIO(b"x" * 101), None)
    assert upload.store.added != []  # the store was reading when it was cut off
    assert upload.store.blobs == {}


def test_storage_quota_declared_size_reserved_before_reading():
    upload = Upload(used=60, user_storage_quota="100B")
    stream = io.BytesIO(b"x" * 41)
    with pytest.raises(errors.QuotaExceeded, match="40 bytes remaining"):
        upload.write(stream, 41)
    assert upload.ledger.names() == ["reserve"]
    assert upload.reserved() == [(41, 41, 100)]
    assert upload.store.added == []
    assert stream.tell() == 0


def test_storage_quota_declared_size_that_fits_is_reserved_once():
    upload = Upload(used=60, user_storage_quota="100B")
    upload.write(io.BytesIO(b"x" * 40), 40)
    assert upload.usage.requests == [(40, 40)]  # the reads after it need nothing more
    assert upload.usage.used == 100


def test_storage_quota_undeclared_stream_reserves_ahead_then_what_remains():
    upload = Upload(used=1000, user_storage_quota="1KB")
    upload.write(io.BytesIO(b"x" * 24), None)
    assert upload.usage.requests == [(24, 24 + RESERVE_STEP)]
    assert upload.usage.used == 1024  # granted only what remained


def test_storage_quota_cuts_an_undeclared_stream():
    upload = Upload(used=1000, user_storage_quota="1KB")
    with pytest.raises(errors.QuotaExceeded, match="24 bytes remaining"):
        upload.write(io.BytesIO(b"x" * 25), None)
    assert upload.store.blobs == {}


def test_storage_quota_reads_stop_at_the_first_refused_reservation():
    usage = Usage(used=0)
    source = io.BytesIO(b"x" * 300)
    reservation = Reservation(RecordingLedger(make_image(), reserve=usage), quota=250)
    reader = LimitingReader(source, 10_000, errors.QuotaExceeded("cap"), reservation)
    assert reader.read(100) == b"x" * 100
    assert reservation.held == 250  # the first read reserved everything that remained
    assert reader.read(100) == b"x" * 100  # covered by what is held: no new request
    assert len(usage.requests) == 1
    with pytest.raises(errors.QuotaExceeded, match=" 250 bytes remaining"):
        reader.read(100)


def test_storage_quota_already_exceeded_leaves_nothing():
    upload = Upload(used=500, user_storage_quota="100")
    with pytest.raises(errors.QuotaExceeded, match="0 bytes remaining"):
        upload.write(io.BytesIO(b"x"), 1)
    assert upload.store.added == []


def test_cap_wins_when_smaller_than_the_storage_quota():
    upload = Upload(used=0, image_size_cap=10, user_storage_quota="1MB")
    with pytest.raises(errors.QuotaExceeded, match="too large"):
        upload.write(io.BytesIO(b"x" * 11), 11)
    assert upload.ledger.calls == []
    assert upload.store.added == []


def test_image_count_quota_is_passed_to_the_database():
    inner = RecordingRepo()
    QuotaImageRepo(inner, member(), conf(image_count_quota=3)).add(make_image())
    assert inner.only("add").kwargs == {"max_images": 3}
    inner = RecordingRepo()
    QuotaImageRepo(inner, member(), conf()).add(make_image())
    assert inner.only("add").kwargs == {"max_images": None}


def test_no_storage_quota_does_not_ask_for_a_reservation():
    upload = Upload()
    upload.write(io.BytesIO(b"x"), 1)
    assert upload.ledger.names() == ["renew"]  # the lease at the end of the data, nothing else


# -- counts ---------------------------------------------------------------------------------
def props(n, prefix="p"):
    return {f"{prefix}{i}": "v" for i in range(n)}


def test_add_with_too_many_properties():
    inner = RecordingRepo()
    repo = QuotaImageRepo(inner, member(), conf(image_property_quota=2))
    with pytest.raises(
        errors.QuotaExceeded, match=r"properties exceeded\. Attempted: 3, Maximum: 2"
    ):
        repo.add(make_image(extra_properties=props(3)))
    assert inner.calls == []
    repo.add(make_image(extra_properties={**props(2), **props(3, "os_glance_")}))
    assert inner.names() == ["add"]


def test_add_with_too_many_tags():
    inner = RecordingRepo()
    repo = QuotaImageRepo(inner, member(), conf(image_tag_quota=1))
    with pytest.raises(errors.QuotaExceeded, match=r"tags exceeded\. Attempted: 2, Maximum: 1"):
        repo.add(make_image(tags={"a", "b"}))
    assert inner.calls == []


def test_negative_quota_is_unlimited():
    inner = RecordingRepo()
    repo = QuotaImageRepo(inner, member(), conf(image_property_quota=-1, image_tag_quota=-1))
    repo.add(make_image(extra_properties=props(300), tags={str(i) for i in range(300)}))
    assert inner.names() == ["add"]


def test_zero_quota_allows_none():
    repo = QuotaImageRepo(RecordingRepo(), member(), conf(image_tag_quota=0))
    with pytest.raises(errors.QuotaExceeded):
        repo.add(make_image(tags={"a"}))


def test_save_adding_a_property_over_quota():
    inner = RecordingRepo()
    image = make_image(extra_properties=props(2))
    image.extra_properties["extra"] = "v"
    with pytest.raises(errors.QuotaExceeded):
        QuotaImageRepo(inner, member(), conf(image_property_quota=2)).save(image)
    assert inner.calls == []


def test_save_adding_a_tag_over_quota():
    image = make_image(tags={"a"})
    image.tags.add("b")
    with pytest.raises(errors.QuotaExceeded):
        QuotaImageRepo(RecordingRepo(), member(), conf(image_tag_quota=1)).save(image)


def test_save_without_additions_is_not_counted():
    """An image already over a lowered quota can still be edited in other ways."""
    inner = RecordingRepo()
    image = make_image(extra_properties=props(3))
    image.extra_properties["p0"] = "new value"
    del image.extra_properties["p1"]
    QuotaImageRepo(inner, member(), conf(image_property_quota=1)).save(image, from_state="x")
    assert inner.only("save").kwargs == {"from_state": "x"}


def test_factory_counts():
    inner = RecordingFactory()
    factory = QuotaImageFactory(inner, member(), conf(image_property_quota=1))
    with pytest.raises(errors.QuotaExceeded):
        factory.new_image("p", extra_properties=props(2))
    assert factory.new_image("p", extra_properties=props(1)).extra_properties == props(1)
    assert inner.names() == ["new_image", "new_image"]


# -- user_storage_quota parsing ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("1234", 1234),
        ("10B", 10),
        ("1KB", 1024),
        ("5 mb", 5 * 1024**2),
        (" 2GB ", 2 * 1024**3),
        ("1TB", 1024**4),
    ],
)
def test_parse_storage_quota(text, value):
    assert parse_storage_quota(text) == value


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.5GB", "10PB", "GB", "1 K B", "10KiB"])
def test_parse_storage_quota_rejects(text):
    with pytest.raises(ValueError, match="invalid user_storage_quota"):
        parse_storage_quota(text)
