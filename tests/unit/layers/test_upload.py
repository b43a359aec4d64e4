"""The upload session (``imgreg.layers.upload``): the lease renewed while data arrives and at
its end, a lost lease said as the client should hear it, commit and abort over the ledger.
The size cap and storage quota are in ``test_quota``, the store's side in ``test_location``."""

from __future__ import annotations

import io

import pytest

from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.layers import upload
from imgreg.layers.upload import DataUpload, LeasedStream, lease_keeper
from imgreg.store.registry import Stores
from tests.support.builders import make_conf, make_image
from tests.unit.layers.recording import MemoryStore, RecordingLedger


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_renews_every_interval_and_at_the_end(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(upload.time, "monotonic", clock)
    renewals: list[float] = []
    stream = LeasedStream(io.BytesIO(b"x" * 10), lambda: renewals.append(clock.now), 20.0)
    for step in (5.0, 10.0, 10.0, 3.0):  # 105, 115, 125 (renew), 128
        clock.now += step
        assert stream.read(2) == b"xx"
    assert renewals == [125.0]
    clock.now += 1
    assert stream.read(2) == b"xx"
    assert stream.read(2) == b""  # the end: always renewed, so the blob lands under the lease
    assert renewals == [125.0, 129.0]


def test_keeper_renews_through_the_ledger():
    ledger = RecordingLedger(make_image(id="img"))
    lease_keeper(ledger)()
    assert ledger.names() == ["renew"]


@pytest.mark.parametrize(
    ("error", "raised", "text"),
    [
        (errors.NotFound("gone"), errors.Gone, "img could not be found after upload"),
        (errors.StaleState("reaped"), errors.Conflict, "upload to image img lost its lease"),
    ],
)
def test_a_lost_lease_stops_the_upload(error, raised, text):
    with pytest.raises(raised, match=text):
        lease_keeper(RecordingLedger(make_image(id="img"), renew=error))()


# -- the session ----------------------------------------------------------------------------
DATA = b"x" * 10_000


def saving():
    return make_image(status="saving", disk_format="raw", container_format="bare")


def session(ledger, store=None, **conf):
    return DataUpload(
        ledger, Stores.single(store or MemoryStore()), UploadTerms(), make_conf(**conf)
    )


def test_write_activates_and_commit_saves_through_the_ledger():
    image = saving()
    ledger, store = RecordingLedger(image), MemoryStore()
    upload_ = session(ledger, store)
    assert upload_.write(io.BytesIO(DATA), len(DATA)) is image
    assert (image.status, image.size) == ("active", len(DATA))
    assert image.locations == [f"memory://{image.id}"]
    assert ledger.names() == ["renew"]  # the end of the data: renewed before the blob lands
    assert upload_.commit() is image
    assert ledger.names() == ["renew", "commit"]
    assert ledger.calls[1].images[0].status == "active"
    upload_.abort()  # after a commit the blob is the image's: an abort leaves it
    assert store.deleted == []


def test_a_lost_lease_during_the_data_stops_it_and_abort_leaves_no_blob():
    image = saving()
    store = MemoryStore()
    upload_ = session(RecordingLedger(image, renew=errors.StaleState("reaped")), store)
    with pytest.raises(errors.Conflict, match="lost its lease"):
        upload_.write(io.BytesIO(DATA), len(DATA))
    assert store.blobs == {}
    assert upload_.abort() is None


@pytest.mark.parametrize("error", [errors.NotFound("deleted"), errors.StaleState("reaped")])
def test_commit_of_an_image_gone_meanwhile_is_gone_and_abort_deletes_the_blob(error):
    image = saving()
    store = MemoryStore()
    upload_ = session(RecordingLedger(image, commit=error), store)
    upload_.write(io.BytesIO(DATA), len(DATA))
    with pytest.raises(errors.Gone, match="deleted during the upload"):
        upload_.commit()
    upload_.abort()
    assert store.deleted == ["memory://" + image.id]
    assert store.blobs == {}


def test_abort_restores_through_the_ledger():
    image = saving()
    restored = make_image(id=image.id, status="queued")
    ledger = RecordingLedger(image, abort=restored)
    upload_ = session(ledger)
    assert upload_.abort() is restored
    assert ledger.names() == ["abort"]


@pytest.mark.parametrize("error", [errors.NotFound("deleted"), RuntimeError("database down")])
def test_abort_deletes_the_blob_whatever_the_ledger_says(error):
    image = saving()
    store = MemoryStore()
    upload_ = session(RecordingLedger(image, abort=error), store)
    upload_.write(io.BytesIO(DATA), len(DATA))
    assert upload_.abort() is None
    assert store.blobs == {}
    assert upload_.abort() is None  # again: nothing left to delete
    assert store.deleted == ["memory://" + image.id]
