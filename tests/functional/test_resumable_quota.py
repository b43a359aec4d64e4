"""A resumable upload session holds its declared length of its owner's storage quota, and its
image, from its creation to its end (``imgreg.db.session_holds``): hostile clients cannot fill
the spool by opening sessions, and no end of a session (finished, failed, deleted, expired)
leaks what it held."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import update

from imgreg.db.models import ImageRow
from imgreg.maintenance.recovery import reap
from imgreg.services.wiring import services
from tests.functional.test_resumable_upload import TUS, send, start, where
from tests.support.client import Client, client_with

MiB = 1024 * 1024
DATA = os.urandom(5 * MiB)
OVER = (
    "Image exceeds the storage quota: The size of the data will exceed the limit. "
    "{} bytes remaining."
)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "tus"


@pytest.fixture
def quota_tus(conf, spool) -> Client:
    return client_with(conf, resumable_upload_dir=str(spool), user_storage_quota="8MB").as_("p1")


def spooled(spool: Path) -> list[str]:
    return os.listdir(spool) if spool.exists() else []


def age(spool: Path | None, *image_ids: str) -> None:
    """Time passes for the sessions: their spool files and their holds' leases are in the
    past (as the reaper test of test_resumable_upload.py ages the files)."""
    for name in spooled(spool) if spool is not None else []:
        os.utime(spool / name, (1, 1))
    with services().db.write() as session:
        session.execute(
            update(ImageRow)
            .where(ImageRow.id.in_(image_ids))
            .values(upload_expires_at=dt.datetime(2000, 1, 1))
        )


def test_a_session_over_the_quota_is_413_and_spools_nothing(quota_tus, spool):
    image = quota_tus.create(name="big")
    resp = start(quota_tus, image["id"], 8 * MiB + 1)
    assert resp.status_int == 413, resp.text
    assert OVER.format(8 * MiB) in resp.text
    assert resp.text.startswith("413 Request Entity Too Large\n\n")  # Glance's error body
    assert spooled(spool) == []
    assert start(quota_tus, image["id"], 8 * MiB).status_int == 201  # all of it fits


def test_many_sessions_cannot_hold_more_than_the_quota(quota_tus, spool):
    images = [quota_tus.create(name=f"s{i}")["id"] for i in range(4)]
    assert start(quota_tus, images[0], 3 * MiB).status_int == 201
    assert start(quota_tus, images[1], 3 * MiB).status_int == 201
    resp = start(quota_tus, images[2], 3 * MiB)
    assert resp.status_int == 413, resp.text
    assert OVER.format(2 * MiB) in resp.text
    assert start(quota_tus, images[3], 2 * MiB).status_int == 201
    assert len(spooled(spool)) == 3 * 3  # three sessions, three files each
    # a plain upload counts the sessions' holds too: no room left
    assert quota_tus.put_file(images[2], b"x").status_int == 413


def test_one_session_per_image_a_second_is_409(quota_tus, spool):
    image = quota_tus.create(name="one")
    first = where(start(quota_tus, image["id"], MiB))
    for _ in range(3):
        resp = start(quota_tus, image["id"], MiB)
        assert resp.status_int == 409, resp.text
        assert "already open" in resp.text
    assert len(spooled(spool)) == 3
    assert quota_tus.request("DELETE", first, headers=TUS).status_int == 204
    assert start(quota_tus, image["id"], MiB).status_int == 201


def test_delete_releases_the_hold(quota_tus, spool):
    first, second = (quota_tus.create(name=n)["id"] for n in ("a", "b"))
    url = where(start(quota_tus, first, 5 * MiB))
    assert send(quota_tus, url, 0, DATA[:MiB]).status_int == 204
    assert start(quota_tus, second, 5 * MiB).status_int == 413
    assert quota_tus.request("DELETE", url, headers=TUS).status_int == 204
    assert spooled(spool) == []
    assert start(quota_tus, second, 5 * MiB).status_int == 201


def test_the_final_pass_takes_the_hold_over_without_counting_it_twice(quota_tus, spool):
    image = quota_tus.create(name="whole", disk_format="raw", container_format="bare")
    url = where(start(quota_tus, image["id"], len(DATA)))
    assert send(quota_tus, url, 0, DATA[: 2 * MiB]).status_int == 204
    # 5 MiB held of 8: the final pass's reservation of 5 MiB more would not fit
    assert send(quota_tus, url, 2 * MiB, DATA[2 * MiB :]).status_int == 204
    shown = quota_tus.get(f"/v2/images/{image['id']}").json
    assert (shown["status"], shown["size"]) == ("active", len(DATA))
    assert spooled(spool) == []
    other = quota_tus.create(name="rest")["id"]
    assert start(quota_tus, other, 3 * MiB + 1).status_int == 413  # 5 stored, 3 left
    assert start(quota_tus, other, 3 * MiB).status_int == 201


def test_a_failed_final_pass_releases_the_hold(quota_tus, spool):
    image = quota_tus.create(name="bad digest")
    wrong = "sha-256=:" + "A" * 43 + "=:"
    url = where(start(quota_tus, image["id"], len(DATA), **{"Repr-Digest": wrong}))
    resp = send(quota_tus, url, 0, DATA)
    assert resp.status_int == 400, resp.text
    assert quota_tus.get(f"/v2/images/{image['id']}").json["status"] == "queued"
    assert spooled(spool) == []
    other = quota_tus.create(name="all")["id"]
    assert start(quota_tus, other, 8 * MiB).status_int == 201  # nothing held any more


def test_expiry_releases_the_hold_and_the_session(quota_tus, spool):
    client = quota_tus
    first, second = (client.create(name=n)["id"] for n in ("a", "b"))
    url = where(start(client, first, 5 * MiB))
    assert send(client, url, 0, DATA[:MiB]).status_int == 204
    assert start(client, second, 5 * MiB).status_int == 413
    age(spool, first)  # the session's expiry passes, in the spool and in the database
    reaped = reap(services())
    assert len(reaped.sessions) == 1
    assert reaped.holds == [first]
    assert spooled(spool) == []
    assert client.request("HEAD", url, headers=TUS).status_int == 404
    assert start(client, second, 5 * MiB).status_int == 201
    # the image of the expired session may have a new one
    assert start(client, first, 3 * MiB).status_int == 201


def test_a_hold_left_without_its_session_is_released_once_expired(quota_tus, spool):
    """A worker killed between the hold and the spool (or the spool's files lost): the
    database's hold expires on its own."""
    client = quota_tus
    first, second = (client.create(name=n)["id"] for n in ("a", "b"))
    where(start(client, first, 5 * MiB))
    for name in os.listdir(spool):
        os.unlink(spool / name)
    assert start(client, second, 5 * MiB).status_int == 413
    assert reap(services()).holds == []  # not yet
    age(None, first)
    assert reap(services()).holds == [first]
    assert start(client, second, 5 * MiB).status_int == 201


def test_an_expired_session_is_gone_and_its_image_free(quota_tus, spool):
    client = quota_tus
    image = client.create(name="late")["id"]
    url = where(start(client, image, 5 * MiB))
    age(spool, image)
    assert send(client, url, 0, DATA[:MiB]).status_int == 404
    assert spooled(spool) == []
    assert start(client, image, 5 * MiB).status_int == 201


def test_without_a_quota_sessions_are_still_one_per_image(conf, spool):
    client = client_with(conf, resumable_upload_dir=str(spool)).as_("p1")
    image = client.create(name="free")["id"]
    assert start(client, image, MiB).status_int == 201
    assert start(client, image, MiB).status_int == 409


def test_a_session_whose_hold_was_released_is_gone(quota_tus, spool):
    """The reaper released the hold (its lease had passed) while the spool still had the
    session: the session cannot go on without it (404, its bytes deleted)."""
    image = quota_tus.create(name="released")["id"]
    url = where(start(quota_tus, image, 5 * MiB))
    age(None, image)
    assert reap(services()).holds == [image]
    assert send(quota_tus, url, 0, DATA[:MiB]).status_int == 404
    assert spooled(spool) == []


def test_a_live_session_keeps_a_hold_whose_lease_passed_but_was_not_released(quota_tus, spool):
    """The database's clock (whole seconds) ran past the lease before the reaper came: the
    session the spool still has goes on, and its next chunk renews the hold."""
    first, second = (quota_tus.create(name=n)["id"] for n in ("a", "b"))
    url = where(start(quota_tus, first, 5 * MiB))
    age(None, first)
    assert send(quota_tus, url, 0, DATA[:MiB]).status_int == 204
    assert reap(services()).holds == []  # renewed
    assert start(quota_tus, second, 5 * MiB).status_int == 413  # still held
