"""Every way an upload can fail leaves the image ``queued`` with no data, size, hashes or
location, nothing in the store (``.partial/`` included), the notifications ``image.upload``
(ERROR) then ``image.update`` (queued), and a retry that works."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webob
from oslo_config import cfg
from sqlalchemy import select

from imgreg import wsgi
from imgreg.db.models import LocationRow
from imgreg.services import wiring
from imgreg.store import filesystem
from tests.support.client import DATA, Body, Client, put_stream, stored_files
from tests.support.images import MiB


@pytest.fixture
def make_client(conf: cfg.ConfigOpts) -> Callable[..., Client]:
    def make(**overrides: Any) -> Client:
        for name, value in overrides.items():
            conf.set_override(name, value)
        wiring.reset()
        return Client(wsgi.load_app(conf))

    return make


def notifications() -> list[dict[str, Any]]:
    """What the app built last has sent (the in-memory notifier of tests/conftest.py)."""
    return wiring.services().notifier.sent


def location_rows(image_id: str) -> list[str]:
    with wiring.services().db.read() as session:
        return list(
            session.scalars(select(LocationRow.url).where(LocationRow.image_id == image_id))
        )


def events(notifications) -> list[tuple[str, str, Any]]:
    return [
        (
            n["event_type"],
            n["priority"],
            n["payload"].get("status") if isinstance(n["payload"], dict) else n["payload"],
        )
        for n in notifications
    ]


def assert_rolled_back(
    client: Client,
    image_id: str,
    store_dir: Path,
    resp: webob.Response,
    status: int,
    message: str,
    upload_error: str,
    kept: tuple[str, ...] = (),
) -> None:
    assert resp.status_int == status, resp.text
    assert message in resp.text
    shown = client.get(f"/v2/images/{image_id}").json
    assert shown["status"] == "queued"
    for field in ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value"):
        assert shown[field] is None, field
    data = client.get(f"/v2/images/{image_id}/file")
    assert data.status_int == 204
    assert data.body == b""
    assert location_rows(image_id) == []
    assert stored_files(store_dir) == sorted(kept)
    assert (store_dir / ".partial").is_dir()  # the store exists; it is simply empty
    sent = notifications()
    assert events(sent) == [
        ("image.update", "INFO", "saving"),
        ("image.prepare", "INFO", "saving"),
        ("image.upload", "ERROR", upload_error),
        ("image.update", "INFO", "queued"),
    ]
    final = sent[-1]["payload"]
    assert (final["id"], final["size"], final["checksum"]) == (image_id, None, None)


def assert_retry_works(
    client: Client, image_id: str, store_dir: Path, data: bytes, kept: tuple[str, ...] = ()
) -> None:
    assert client.put_file(image_id, data).status_int == 204
    shown = client.get(f"/v2/images/{image_id}").json
    assert (shown["status"], shown["size"]) == ("active", len(data))
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert stored_files(store_dir) == sorted([image_id, *kept])
    assert location_rows(image_id) == [f"file://{store_dir}/{image_id}"]
    assert client.get(f"/v2/images/{image_id}/file").body == data


def upload_error(message: str) -> str:
    return f"Failed to upload image data: {message}"


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (len(DATA) + 1, f"Size mismatch: expected {len(DATA) + 1} bytes, got {len(DATA)} bytes"),
        (len(DATA) - 1, f"Size exceeds: expected {len(DATA) - 1} bytes, got more than that"),
        (5, "Size exceeds: expected 5 bytes, got more than that"),
    ],
    ids=["larger", "smaller", "much-smaller"],
)
def test_size_header_not_matching_the_body_is_400(make_client, store_dir, declared, message):
    client = make_client()
    image_id = client.create()["id"]
    notifications().clear()
    resp = client.put_file(image_id, DATA, **{"x-openstack-image-size": str(declared)})
    assert_rolled_back(client, image_id, store_dir, resp, 400, message, upload_error(message))
    assert_retry_works(client, image_id, store_dir, DATA)


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "chunked"])
def test_over_image_size_cap_is_413(make_client, store_dir, sized):
    client = make_client(image_size_cap=5 * MiB)
    image_id = client.create()["id"]
    notifications().clear()
    resp = put_stream(client, image_id, Body(DATA), sized=sized)
    message = "The incoming image is too large"
    assert_rolled_back(client, image_id, store_dir, resp, 413, message, upload_error(message))
    assert_retry_works(client, image_id, store_dir, DATA[: 5 * MiB])


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "chunked"])
def test_over_user_storage_quota_is_413(make_client, store_dir, sized):
    client = make_client(user_storage_quota="8MB").as_("p1")
    first = client.create()["id"]
    assert client.put_file(first, DATA[: 3 * MiB]).status_int == 204
    image_id = client.create()["id"]
    notifications().clear()
    resp = put_stream(client, image_id, Body(DATA), sized=sized)
    message = (
        "Image exceeds the storage quota: The size of the data will exceed the limit. "
        f"{5 * MiB} bytes remaining."
    )
    assert_rolled_back(
        client, image_id, store_dir, resp, 413, message, upload_error(message), kept=(first,)
    )
    assert_retry_works(client, image_id, store_dir, DATA[: 5 * MiB], kept=(first,))


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        (errno.EIO, 503, "The image store failed to write the data"),
        (errno.ENOSPC, 413, "Image storage media is full"),
    ],
    ids=["EIO", "ENOSPC"],
)
def test_store_write_error(make_client, store_dir, monkeypatch, code, status, message):
    client = make_client()
    image_id = client.create()["id"]
    real_write = os.write
    partial_writes: list[int] = []

    def failing_write(fd: int, data: Any) -> int:
        """Fails the second write to a partial upload file; any other write goes through."""
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(store_dir / ".partial")):
            partial_writes.append(len(data))
            if len(partial_writes) == 2:
                raise OSError(code, f"{os.strerror(code)}: {store_dir}/secret")
        return real_write(fd, data)

    monkeypatch.setattr(filesystem.os, "write", failing_write)
    notifications().clear()
    resp = client.put_file(image_id, DATA)
    # 4 MiB had reached the disk; the second block's whole pages are written directly
    # (filesystem_store_direct_io), its last partial page would have followed on its own
    assert partial_writes == [4 * MiB, (len(DATA) - 4 * MiB) // 4096 * 4096]
    assert str(store_dir) not in resp.text
    assert_rolled_back(client, image_id, store_dir, resp, status, message, upload_error(message))
    monkeypatch.undo()
    assert_retry_works(client, image_id, store_dir, DATA)


@pytest.mark.parametrize("step", ["fsync-file", "rename", "fsync-dir"])
def test_store_error_after_the_data_was_written(make_client, store_dir, monkeypatch, step):
    """A failure in any step of making the blob durable (fsync, rename, directory fsync)
    leaves neither the partial file nor the renamed blob behind."""
    client = make_client()
    image_id = client.create()["id"]
    real = {name: getattr(os, name) for name in ("fsync", "rename")}
    failed: list[str] = []

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        is_dir = path == str(store_dir)
        if (step, is_dir) in (("fsync-file", False), ("fsync-dir", True)):
            failed.append(path)
            raise OSError(errno.EIO, "I/O error")
        real["fsync"](fd)

    def rename(src: str, dst: str) -> None:
        if step == "rename":
            failed.append(dst)
            raise OSError(errno.EIO, "I/O error")
        real["rename"](src, dst)

    monkeypatch.setattr(filesystem.os, "fsync", fsync)
    monkeypatch.setattr(filesystem.os, "rename", rename)
    notifications().clear()
    resp = client.put_file(image_id, DATA)
    monkeypatch.undo()
    assert len(failed) == 1
    assert failed[0].startswith(
        {
            "fsync-file": f"{store_dir}/.partial/{image_id}.",
            "rename": f"{store_dir}/{image_id}",
            "fsync-dir": str(store_dir),
        }[step]
    )
    message = "The image store failed to write the data"
    assert_rolled_back(client, image_id, store_dir, resp, 503, message, upload_error(message))
    assert_retry_works(client, image_id, store_dir, DATA)


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "chunked"])
def test_client_disconnect_mid_body(make_client, store_dir, sized):
    client = make_client()
    image_id = client.create()["id"]
    notifications().clear()
    body = Body(DATA, after=4 * MiB, fail=ConnectionResetError(errno.ECONNRESET, "reset"))
    resp = put_stream(client, image_id, body, sized=sized)
    assert body.pos == 4 * MiB  # one store block was written, then the stream broke
    # a body that cannot be read is the client's failure, not the store's
    message = "The upload was interrupted before all data arrived."
    assert_rolled_back(client, image_id, store_dir, resp, 400, message, upload_error(message))
    assert_retry_works(client, image_id, store_dir, DATA)


@pytest.mark.parametrize("sized", [True, False], ids=["sized", "chunked"])
def test_delete_during_upload(make_client, store_dir, sized):
    client = make_client()
    image_id = client.create()["id"]
    deleted: list[webob.Response] = []
    partial_seen: list[list[str]] = []

    def delete() -> None:
        partial_seen.append(stored_files(store_dir))
        deleted.append(client.delete(f"/v2/images/{image_id}"))

    body = Body(DATA, after=4 * MiB, action=delete)
    resp = put_stream(client, image_id, body, sized=sized)
    assert len(deleted) == 1
    assert deleted[0].status_int == 204
    assert len(partial_seen[0]) == 1
    assert partial_seen[0][0].startswith(f".partial/{image_id}.")
    assert resp.status_int == 410, resp.text
    assert f"Image {image_id} could not be found after upload." in resp.text
    assert client.get(f"/v2/images/{image_id}").status_int == 404
    assert location_rows(image_id) == []
    assert stored_files(store_dir) == []
