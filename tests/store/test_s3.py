"""What only the S3 store has: multipart uploads (their layout, their abort on failure, the
abandoned ones the reaper finds), its bucket and health check, and the whole Images API on it,
against Swift's s3api (``tools/swift``)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
import uuid

import pytest
import swiftclient

from imgreg import store as stores
from imgreg.domain import errors
from imgreg.maintenance import recovery
from imgreg.services import wiring
from imgreg.store import s3_multipart
from imgreg.store.s3 import S3Store
from imgreg.store.s3_multipart import MultipartUpload
from tests.support.builders import make_conf
from tests.support.client import client_with, deleted_image, kept_urls, new_image
from tests.support.stores import (
    LARGE,
    SMALL,
    Broken,
    S3Backend,
    Trickle,
    images_api_round_trip,
    read_all,
)

MiB = 1024 * 1024


@pytest.fixture
def s3(swift_server):
    return S3Backend(swift_server)


def segments(s3: S3Backend, store: S3Store) -> list[dict]:
    """What s3api keeps of multipart uploads: parts and upload markers, in Swift."""
    with contextlib.closing(s3.swift.client()) as conn:
        try:
            return list(conn.get_container(f"{store.bucket}+segments")[1])
        except swiftclient.ClientException as exc:
            if exc.http_status != 404:
                raise
            return []  # no multipart upload was ever started


def test_created_by_name(s3):
    conf = make_conf(**s3.conf_overrides("byname"))
    assert isinstance(stores.create("s3", conf), S3Store)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
def test_a_large_image_is_a_multipart_upload(s3, declared, threads):
    store = s3.make(s3_store_thread_pools=threads)
    image_id = str(uuid.uuid4())
    blob = store.add(image_id, Trickle(LARGE), len(LARGE) if declared else None, "sha512")
    head = store.client.head_object(Bucket=store.bucket, Key=image_id)
    assert head["ETag"].strip('"').endswith("-3")  # md5 of the parts' md5s, and their count
    assert sorted(s["bytes"] for s in segments(s3, store)) == [300_001, MiB, MiB]
    assert read_all(store, blob.url) == LARGE
    store.delete(blob.url)
    assert segments(s3, store) == []


@pytest.mark.parametrize(
    ("data", "declared"), [(SMALL, True), (SMALL, False), (LARGE[: MiB - 1], False)]
)
def test_smaller_images_are_one_put(s3, data, declared):
    store = s3.make()
    image_id = str(uuid.uuid4())
    store.add(image_id, Trickle(data), len(data) if declared else None, "sha512")
    head = store.client.head_object(Bucket=store.bucket, Key=image_id)
    assert head["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    assert segments(s3, store) == []


@pytest.mark.parametrize("delta", [0, -1, 1])
def test_a_sized_image_under_the_large_size_is_streamed_as_one_put(s3, delta):
    store = s3.make(s3_store_large_object_size=10)
    image_id = str(uuid.uuid4())
    if delta:  # the source runs long (or short): S3 never gets the whole declared length
        with pytest.raises(errors.Invalid):
            store.add(image_id, Trickle(LARGE), len(LARGE) + delta, "sha512")
        assert store.list_blobs() == []
        return
    blob = store.add(image_id, Trickle(LARGE), len(LARGE), "sha512")
    head = store.client.head_object(Bucket=store.bucket, Key=image_id)
    assert head["ETag"].strip('"') == hashlib.md5(LARGE).hexdigest()
    assert read_all(store, blob.url) == LARGE


def test_a_full_store_refuses_a_streamed_put(s3):
    store = s3.full()
    with pytest.raises(errors.StoreFull):
        store.add(str(uuid.uuid4()), Trickle(SMALL), len(SMALL), "sha512")
    assert store.list_blobs() == []


@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
def test_a_failed_part_aborts_the_upload(s3, monkeypatch, declared):
    store = s3.make()
    real = MultipartUpload.send_part

    def send_part(self, upload, number, part):
        if number == 2:
            raise OSError("connection reset")
        return real(self, upload, number, part)

    monkeypatch.setattr(MultipartUpload, "send_part", send_part)
    with pytest.raises(errors.StoreError):
        store.add(str(uuid.uuid4()), io.BytesIO(LARGE), len(LARGE) if declared else None, "md5")
    assert store.list_blobs() == []
    assert store.list_partials() == []
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    assert segments(s3, store) == []


def test_a_source_failing_after_parts_were_sent_aborts(s3):
    store = s3.make()
    with pytest.raises(Broken):
        store.add(str(uuid.uuid4()), Trickle(LARGE, after=2 * MiB + 10, fail=Broken()), None, "md5")
    assert store.list_partials() == []
    assert segments(s3, store) == []


def test_an_upload_whose_abort_failed_is_a_partial(s3, monkeypatch):
    store = s3.make()
    image_id = str(uuid.uuid4())
    monkeypatch.setattr(s3_multipart, "abort", lambda *args: None)
    with pytest.raises(Broken):
        store.add(image_id, Trickle(LARGE, after=2 * MiB + 10, fail=Broken()), None, "md5")
    (partial,) = store.list_partials()
    assert partial.image_id == image_id
    assert partial.name.startswith(f"{image_id}.")
    assert time.time() - 60 < partial.modified <= time.time() + 5
    assert store.list_blobs() == []
    store.delete_partial(partial.name)
    assert store.list_partials() == []
    assert segments(s3, store) == []


@pytest.mark.parametrize("declared", [True, False], ids=["sized", "unsized"])
def test_more_parts_than_s3_takes(s3, monkeypatch, declared):
    monkeypatch.setattr(s3_multipart, "MAX_PARTS", 2)
    store = s3.make()
    with pytest.raises(errors.StoreFull, match="over 2 parts of 1 MiB"):
        store.add(str(uuid.uuid4()), io.BytesIO(LARGE), len(LARGE) if declared else None, "md5")
    assert store.list_blobs() == []
    assert store.list_partials() == []


def test_missing_bucket_is_not_created_unless_configured(s3):
    store = s3.make(s3_store_create_bucket_on_put=False)
    with pytest.raises(errors.StoreError):
        store.add(str(uuid.uuid4()), io.BytesIO(LARGE), None, "sha512")
    with pytest.raises(errors.StoreError, match="bucket is missing"):
        store.check()
    assert store.list_blobs() == []
    assert store.list_partials() == []


def test_check(s3):
    s3.make().check()  # no bucket yet, but the first PUT creates it
    store = s3.unreachable()
    with pytest.raises(errors.StoreError) as caught:
        store.check()
    assert "127.0.0.1" not in caught.value.message


def api_on_s3(conf, s3, **overrides):
    settings = s3.settings(f"api{uuid.uuid4().hex[:8]}", default_store="s3")
    return client_with(conf, **{f"glance_store.{k}": v for k, v in settings.items()}, **overrides)


def test_healthcheck_on_s3(conf, s3):
    api = api_on_s3(conf, s3)
    assert api.get("/healthcheck").status_int == 200
    conf.set_override("s3_store_create_bucket_on_put", False, group="glance_store")
    wiring.reset()  # the same store, now without its bucket
    resp = api.get("/healthcheck")
    assert resp.status_int == 503
    assert "STORE UNAVAILABLE" in resp.text


def test_reaper_removes_an_abandoned_multipart_upload(conf, s3):
    api = api_on_s3(conf, s3, upload_lease_seconds=1)
    kept = new_image(api, b"kept")
    stores = wiring.services().store
    store = stores.get(stores.default_id)  # the one configured driver
    assert isinstance(store, S3Store)
    orphan = store.add(deleted_image(api), io.BytesIO(b"nobody's"), 8, "sha512").url
    # a blob under an id no image row has: not imgreg's (a Glance beside it), left alone
    foreign = store.add(str(uuid.uuid4()), io.BytesIO(b"Glance's"), 8, "sha512").url
    abandoned = str(uuid.uuid4())  # a process killed half-way through a multipart upload
    upload = store.client.create_multipart_upload(Bucket=store.bucket, Key=abandoned)
    store.client.upload_part(
        Bucket=store.bucket, Key=abandoned, UploadId=upload["UploadId"], PartNumber=1,
        Body=LARGE[:MiB],
    )  # fmt: skip
    (partial,) = store.list_partials()
    assert partial.name == f"{abandoned}.{upload['UploadId']}"
    time.sleep(2.5)  # past the lease (s3api rounds the part's time up to the next second)
    reaped = recovery.reap(wiring.services())
    assert (reaped.blobs, reaped.partials) == ([orphan], [partial.name])
    assert sorted(store.list_blobs()) == sorted([foreign, *kept_urls(store, kept["id"])])
    assert store.list_partials() == []
    assert api.get(f"/v2/images/{kept['id']}/file").body == b"kept"


def test_images_api_on_s3(conf, s3):
    api = api_on_s3(conf, s3)
    url = images_api_round_trip(api, stores.create("s3", conf))
    assert url.startswith(f"s3://{conf.glance_store.s3_store_bucket}/")
