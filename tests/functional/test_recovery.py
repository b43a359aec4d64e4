"""The upload lease, the reaper (``imgreg.maintenance.recovery``) and the invariant check
(``imgreg.maintenance.invariants``), on the session's database and a real filesystem store.

Crashed uploads are staged the way a SIGKILL leaves them (a ``saving`` row whose lease ran
out, a partial file, a blob renamed into place before the commit); ``tests/e2e/test_crash.py``
produces them with real kills.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg
from sqlalchemy import select, update

from imgreg import wsgi
from imgreg.db.models import ImageRow, LocationRow
from imgreg.domain import errors
from imgreg.domain.image import utcnow
from imgreg.maintenance import invariants, recovery
from imgreg.services import wiring
from tests.support.client import DATA, Body, Client, deleted_image, put_stream, stored_files

MiB = 1 << 20
LEASE = 30


@pytest.fixture
def client(conf: cfg.ConfigOpts) -> Client:
    conf.set_override("upload_lease_seconds", LEASE)
    wiring.reset()
    return Client(wsgi.load_app(conf))


def row(image_id: str) -> ImageRow:
    with wiring.services().db.read() as session:
        found = session.scalar(select(ImageRow).where(ImageRow.id == image_id))
        assert found is not None
        return found


def set_row(image_id: str, **values: Any) -> None:
    with wiring.services().db.write() as session:
        session.execute(update(ImageRow).where(ImageRow.id == image_id).values(**values))


def add_location(image_id: str, url: str) -> None:
    with wiring.services().db.write() as session:
        session.add(LocationRow(image_id=image_id, url=url))


def crashed_upload(client: Client, store_dir: Path, blob: bool, expired: bool = True) -> str:
    """An image whose upload process died: ``saving``, its lease run out (or not), and a blob
    renamed into place (``blob``, a kill before the commit) or an old partial file."""
    image_id = client.create()["id"]
    lease = utcnow() + dt.timedelta(seconds=-5 if expired else LEASE)
    set_row(image_id, status="saving", upload_expires_at=lease)
    if blob:
        (store_dir / image_id).write_bytes(b"renamed, never committed")
    else:
        old_partial(store_dir, image_id)
    return image_id


def old_partial(store_dir: Path, image_id: str) -> str:
    name = f"{image_id}.{uuid.uuid4().hex[:12]}"
    path = store_dir / ".partial" / name
    path.write_bytes(b"half an upload")
    old = time.time() - LEASE - 10
    os.utime(path, (old, old))
    return name


def test_upload_holds_the_lease_while_saving_and_drops_it(client, store_dir):
    image_id = client.create()["id"]
    seen: list[tuple[str, dt.datetime | None]] = []

    def look() -> None:
        current = row(image_id)
        seen.append((current.status, current.upload_expires_at))

    before = utcnow()
    resp = put_stream(client, image_id, Body(DATA, after=4 * MiB, action=look), sized=True)
    assert resp.status_int == 204, resp.text
    ((status, expires),) = seen
    assert status == "saving"
    assert expires is not None
    assert before + dt.timedelta(seconds=LEASE) <= expires <= utcnow() + dt.timedelta(seconds=LEASE)
    assert (row(image_id).status, row(image_id).upload_expires_at) == ("active", None)


def test_a_failed_upload_drops_the_lease(client):
    image_id = client.create()["id"]
    before = utcnow()
    resp = client.put_file(image_id, b"abc", **{"x-openstack-image-size": "4"})
    assert resp.status_int == 400
    # what is left is when the upload ended, no lease: the reaper reads it (orphan_blob)
    ended = row(image_id).upload_expires_at
    assert row(image_id).status == "queued"
    assert ended is not None
    assert before.replace(microsecond=0) <= ended <= utcnow()


def test_reaper_repairs_what_killed_uploads_left(client, store_dir):
    svc = wiring.services()
    good = client.create()["id"]
    assert client.put_file(good, b"good data").status_int == 204
    before_commit = crashed_upload(client, store_dir, blob=True)
    mid_body = crashed_upload(client, store_dir, blob=False)
    running = crashed_upload(client, store_dir, blob=True, expired=False)
    never_leased = crashed_upload(client, store_dir, blob=False)
    set_row(never_leased, upload_expires_at=None)  # a row from before leases existed
    orphan = deleted_image(client)  # e.g. a delete whose blob removal failed
    set_row(orphan, updated_at=utcnow() - dt.timedelta(seconds=LEASE * 10))  # settled
    (store_dir / orphan).write_bytes(b"orphan")
    foreign = str(uuid.uuid4())  # no row has its id: not imgreg's (a Glance beside it)
    (store_dir / foreign).write_bytes(b"Glance's")
    young = f"{uuid.uuid4()}.0123456789ab"  # a partial file younger than the lease stays
    (store_dir / ".partial" / young).write_bytes(b"new")
    assert len(invariants.check(svc)) == 8  # 3 expired uploads, 2 partials, 3 blobs

    reaped = recovery.reap(svc)

    assert sorted(reaped.images) == sorted([before_commit, mid_body, never_leased])
    assert reaped.blobs == [f"file://{store_dir}/{i}" for i in sorted([before_commit, orphan])]
    assert len(reaped.partials) == 2
    for image_id in (before_commit, mid_body, never_leased):
        shown = client.get(f"/v2/images/{image_id}").json
        assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
        ended = row(image_id).upload_expires_at  # when the sweep ended it: no lease
        assert ended is not None
        assert ended <= utcnow()
    assert row(running).status == "saving"
    assert stored_files(store_dir) == sorted([good, running, foreign, f".partial/{young}"])
    assert invariants.check(svc) == [f"blob file://{store_dir}/{foreign}: no image owns it"]
    assert str(recovery.reap(svc)) == (
        "0 expired upload(s) back to queued, 0 orphan blob(s) and 0 partial file(s) removed, "
        "0 stuck task(s) failed, 0 expired task(s) deleted"
    )
    assert client.put_file(before_commit, b"again").status_int == 204
    assert client.get(f"/v2/images/{before_commit}/file").body == b"again"
    assert invariants.check(svc) == [f"blob file://{store_dir}/{foreign}: no image owns it"]
    assert (store_dir / foreign).read_bytes() == b"Glance's"


def test_reaper_keeps_an_upload_that_renewed_meanwhile(client, store_dir):
    image_id = crashed_upload(client, store_dir, blob=True)
    svc = wiring.services()
    # the lease was renewed between the reaper's scan and its update: the guard keeps it
    set_row(image_id, upload_expires_at=utcnow() + dt.timedelta(seconds=LEASE))
    from imgreg.db import maintenance

    assert not maintenance.reclaim_upload(svc.db, image_id, utcnow())
    assert row(image_id).status == "saving"


def test_an_upload_whose_lease_was_reaped_stops_with_409(client, store_dir):
    image_id = client.create()["id"]

    def expire_and_reap() -> None:
        set_row(image_id, upload_expires_at=utcnow() - dt.timedelta(seconds=1))
        assert recovery.reap(wiring.services()).images == [image_id]

    body = Body(DATA, after=4 * MiB, action=expire_and_reap)
    resp = put_stream(client, image_id, body, sized=False)
    assert resp.status_int == 409, resp.text
    assert "lost its lease" in resp.text
    assert row(image_id).status == "queued"
    assert stored_files(store_dir) == []
    assert client.put_file(image_id, DATA).status_int == 204
    assert invariants.check(wiring.services()) == []


def corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda d, i: corrupt(d / i),
            ["md5 does not match", "sha512 does not match", "CRC-32", "sha-256 does not match"],
        ),
        (lambda d, i: (d / i).write_bytes(b"short"), ["has 5 bytes, the row says 9"]),
        (lambda d, i: (d / i).unlink(), ["is missing"]),
        (lambda d, i: add_location(i, f"file://{d}/{uuid.uuid4()}"), ["with 2 locations"]),
    ],
    ids=["flipped-byte", "short", "missing", "two-locations"],
)
def test_check_verifies_every_active_blob(
    client, store_dir, damage: Callable[[Path, str], None], expected: list[str]
):
    image_id = client.create()["id"]
    assert client.put_file(image_id, b"some data").status_int == 204
    damage(store_dir, image_id)
    (problem,) = invariants.check(wiring.services())
    assert problem.startswith(f"image {image_id}: ")
    for text in expected:
        assert text in problem


def test_check_lists_each_violation(client, store_dir):
    expired = crashed_upload(client, store_dir, blob=False)
    queued = client.create()["id"]
    add_location(queued, f"file://{store_dir}/{queued}")
    orphan = str(uuid.uuid4())
    (store_dir / orphan).write_bytes(b"x")
    partial = old_partial(store_dir, str(uuid.uuid4()))
    problems = invariants.check(wiring.services())
    assert sorted(problems) == sorted(
        [
            f"image {queued}: queued but holds data (size, checksums or a location)",
            f"blob file://{store_dir}/{orphan}: no image owns it",
            f"partial file {next(p for p in os.listdir(store_dir / '.partial') if expired in p)}: "
            "older than the upload lease",
            f"partial file {partial}: older than the upload lease",
            f"image {expired}: saving past its upload lease",
        ]
    )


def test_pending_delete_data_is_owned_until_scrubbed(conf, store_dir):
    conf.set_override("delayed_delete", True)
    conf.set_override("scrub_time", 3600)
    wiring.reset()
    client = Client(wsgi.load_app(conf))
    image_id = client.create()["id"]
    assert client.put_file(image_id, b"kept for the scrubber").status_int == 204
    assert client.delete(f"/v2/images/{image_id}").status_int == 204
    svc = wiring.services()
    assert recovery.reap(svc).blobs == []
    assert stored_files(store_dir) == [image_id]
    assert invariants.check(svc) == []


def test_a_queued_images_blob_waits_for_its_location(client, store_dir):
    """Nova's direct snapshot writes a new image's data into the store under the image's id,
    then adds it as the location, minutes later: the reaper leaves such a blob alone for
    ``QUEUED_BLOB_GRACE``, and removes it only once the queued row is older than that."""
    image = client.create(name="nova-snapshot")
    blob = store_dir / image["id"]
    blob.write_bytes(DATA)
    set_row(image["id"], updated_at=utcnow() - dt.timedelta(seconds=LEASE * 10))
    assert recovery.reap(wiring.services()).blobs == []
    assert blob.read_bytes() == DATA
    old = dt.timedelta(seconds=recovery.QUEUED_BLOB_GRACE + 60)
    set_row(image["id"], updated_at=utcnow() - old)
    assert recovery.reap(wiring.services()).blobs == [f"file://{store_dir.resolve()}/{image['id']}"]
    assert not blob.exists()


def failing_deletes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The store refuses every delete until the list returned is cleared of its ``"fail"``
    (an RBD image a dead writer still watched, a Swift that did not answer): what it refused."""
    store = wiring.services().store
    real, refused = store.delete, ["fail"]

    def delete(url: str) -> None:
        if "fail" in refused:
            refused.append(url)
            raise errors.Conflict("The image data is in use")
        real(url)

    monkeypatch.setattr(store, "delete", delete)
    return refused


def test_a_reclaimed_uploads_blob_that_resisted_is_removed_by_a_later_sweep(
    client, store_dir, monkeypatch
):
    """The sweep that takes a dead upload back to queued deletes its blob; when that delete
    fails, the image is queued by then, yet its blob is no Nova snapshot to wait a day for:
    a later sweep removes it once the row is settled."""
    image_id = crashed_upload(client, store_dir, blob=True)
    refused = failing_deletes(monkeypatch)
    assert recovery.reap(wiring.services()).images == [image_id]
    assert refused == ["fail", f"file://{store_dir}/{image_id}"]
    refused.clear()
    assert recovery.reap(wiring.services()).blobs == []  # not settled yet: a lease margin
    set_row(image_id, updated_at=utcnow() - dt.timedelta(seconds=LEASE * 2))
    assert recovery.reap(wiring.services()).blobs == [f"file://{store_dir}/{image_id}"]
    assert stored_files(store_dir) == []
    assert client.put_file(image_id, b"again").status_int == 204
    assert invariants.check(wiring.services()) == []


def test_a_failed_uploads_blob_that_resisted_is_removed_by_a_later_sweep(
    client, store_dir, monkeypatch
):
    """An upload that fails after its blob is in place (a digest the client gave that does not
    match) removes the blob; when that fails, the reaper does it once the row is settled."""
    image_id = client.create()["id"]
    refused = failing_deletes(monkeypatch)
    wrong = "sha-256=:" + "A" * 43 + "=:"
    resp = client.put_file(image_id, DATA, **{"Repr-Digest": wrong})
    assert resp.status_int == 400, resp.text
    assert refused == ["fail", f"file://{store_dir}/{image_id}"]
    refused.clear()
    assert row(image_id).status == "queued"
    set_row(image_id, updated_at=utcnow() - dt.timedelta(seconds=LEASE * 2))
    assert recovery.reap(wiring.services()).blobs == [f"file://{store_dir}/{image_id}"]
    assert stored_files(store_dir) == []
