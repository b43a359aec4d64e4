"""One ``Backend`` per store driver, for the contract suite in ``tests/store/test_contract.py``
(its fixtures, and the sessions of Swift and Ceph, are in ``tests/store/conftest.py``).

A backend builds fresh, isolated stores of its driver (``make``), and stores in two failure
states: full (``full``) and unreachable (``unreachable``). ``file`` runs in a temporary
directory, with a mocked ``ENOSPC``/``EIO`` for its failures. ``swift`` runs against a real
single-node Swift (``tools/swift``: Debian's 2.30, tempauth, loopback), started once per pytest
session; each store gets containers of its own, a full one containers whose quota
(``X-Container-Meta-Quota-Count: 0``, the container_quotas middleware) refuses every object,
an unreachable one an auth address on a closed port. ``s3`` runs against the same Swift through
its ``s3api`` middleware (path-style, us-east-1, tempauth's user as the access key): a bucket
per store, the same container quota for a full one, a closed port for an unreachable one.
``rbd`` runs against a real single-node Ceph (``tools/ceph``: Debian's 16.2, one monitor,
manager and OSD), started once per pytest session: a pool per store, a full one a pool whose
object quota is used up (Ceph flags it ``full_quota``), an unreachable one a monitor address on
a closed port.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rados
import swiftclient

from imgreg.maintenance.recovery import blob_image_id
from imgreg.store import Store
from imgreg.store import filesystem as fs
from imgreg.store.rbd import RbdStore
from imgreg.store.s3 import S3Store
from imgreg.store.swift import SwiftStore
from tests.support.builders import make_conf
from tests.support.client import new_image


class Backend:
    name: str

    def make(self) -> Store:
        raise NotImplementedError

    def full(self) -> Store:
        """A store with no room for anything."""
        raise NotImplementedError

    def unreachable(self) -> Store:
        """A store whose storage cannot be reached (or fails to write: an I/O error)."""
        raise NotImplementedError


class FileBackend(Backend):
    name = "file"

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        # over hashing.PARALLEL_MIN, and small enough that the test data spans many blocks
        monkeypatch.setattr(fs, "BLOCK", 64 * 1024 + 7)

    def make(self) -> Store:
        root = self.tmp_path / f"store-{secrets.token_hex(4)}"
        return fs.FilesystemStore(make_conf(glance_store__filesystem_store_datadir=str(root)))

    def _failing_writes(self, code: int) -> Store:
        store = self.make()
        real_write = os.write
        writes = []

        def write(fd: int, data: Any) -> int:
            writes.append(fd)
            if len(writes) > 1:  # the first block lands, the second does not
                raise OSError(code, os.strerror(code))
            return real_write(fd, data)

        self.monkeypatch.setattr(os, "write", write)
        return store

    def full(self) -> Store:
        return self._failing_writes(errno.ENOSPC)

    def unreachable(self) -> Store:
        return self._failing_writes(errno.EIO)


class SwiftBackend(Backend):
    name = "swift"

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def settings(self, container: str, **overrides: Any) -> dict[str, Any]:
        """``[glance_store]`` options for a store in ``container``."""
        return {
            "swift_store_auth_address": self.info["auth_url"],
            "swift_store_auth_version": self.info["auth_version"],
            "swift_store_user": self.info["user"],
            "swift_store_key": self.info["key"],
            "swift_store_container": container,
            "swift_store_create_container_on_put": True,
            # 1 MiB segments, so that the suite's larger data is a 3-segment SLO
            "swift_store_large_object_size": 1,
            "swift_store_large_object_chunk_size": 1,
            **overrides,
        }

    def conf_overrides(self, container: str, **overrides: Any) -> dict[str, Any]:
        """``make_conf`` arguments for a store in ``container``."""
        settings = self.settings(container, **overrides)
        return {f"glance_store__{k}": v for k, v in settings.items()}

    def make(self, **overrides: Any) -> Store:
        container = f"c{secrets.token_hex(6)}"
        return SwiftStore(make_conf(**self.conf_overrides(container, **overrides)))

    def client(self) -> swiftclient.Connection:
        return swiftclient.Connection(
            authurl=self.info["auth_url"], user=self.info["user"], key=self.info["key"]
        )

    def full(self) -> Store:
        container = f"full{secrets.token_hex(6)}"
        quota = {"X-Container-Meta-Quota-Count": "0"}
        with contextlib.closing(self.client()) as conn:
            conn.put_container(container, headers=quota)
            conn.put_container(f"{container}_segments", headers=quota)
        return SwiftStore(make_conf(**self.conf_overrides(container)))

    def unreachable(self) -> Store:
        with socket.socket() as sock:  # a port nothing listens on once this closes
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        overrides = {"swift_store_auth_address": f"http://127.0.0.1:{port}/auth/v1.0"}
        return SwiftStore(make_conf(**self.conf_overrides("unreachable", **overrides)))


class S3Backend(Backend):
    name = "s3"

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.swift = SwiftBackend(info)

    def settings(self, bucket: str, **overrides: Any) -> dict[str, Any]:
        """``[glance_store]`` options for a store in ``bucket``."""
        return {
            "s3_store_host": self.info["url"],
            "s3_store_access_key": self.info["user"],
            "s3_store_secret_key": self.info["key"],
            "s3_store_bucket": bucket,
            "s3_store_bucket_url_format": "path",
            "s3_store_create_bucket_on_put": True,
            # 1 MiB parts (tools/swift lowers s3api's minimum to that), so that the suite's
            # larger data is a 3-part multipart upload
            "s3_store_large_object_size": 1,
            "s3_store_large_object_chunk_size": 1,
            **overrides,
        }

    def conf_overrides(self, bucket: str, **overrides: Any) -> dict[str, Any]:
        return {f"glance_store__{k}": v for k, v in self.settings(bucket, **overrides).items()}

    def make(self, **overrides: Any) -> S3Store:
        return S3Store(make_conf(**self.conf_overrides(f"b{secrets.token_hex(6)}", **overrides)))

    def full(self) -> Store:
        bucket = f"full{secrets.token_hex(6)}"  # parts go in; completing the upload fails
        with contextlib.closing(self.swift.client()) as conn:
            conn.put_container(bucket, headers={"X-Container-Meta-Quota-Count": "0"})
        return S3Store(make_conf(**self.conf_overrides(bucket)))

    def unreachable(self) -> Store:
        with socket.socket() as sock:  # a port nothing listens on once this closes
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        overrides = {"s3_store_host": f"http://127.0.0.1:{port}"}
        return S3Store(make_conf(**self.conf_overrides("unreachable", **overrides)))


class RbdBackend(Backend):
    name = "rbd"

    def __init__(self, info: dict[str, Any], tmp_path: Path) -> None:
        self.info = info
        self.tmp_path = tmp_path

    def settings(self, pool: str, **overrides: Any) -> dict[str, Any]:
        """``[glance_store]`` options for a store in ``pool``."""
        return {
            "rbd_store_ceph_conf": self.info["conf"],
            "rbd_store_pool": pool,
            "rbd_store_chunk_size": 1,  # 1 MiB objects: the suite's larger data spans three
            "rados_connect_timeout": 10,
            **overrides,
        }

    def make(self, **overrides: Any) -> RbdStore:
        pool = f"p{secrets.token_hex(6)}"
        self.command("osd pool create", pool=pool, pg_num=1)
        self.command("osd pool application enable", pool=pool, app="rbd")
        return self.store(pool, **overrides)

    def store(self, pool: str, **overrides: Any) -> RbdStore:
        settings = self.settings(pool, **overrides)
        return RbdStore(make_conf(**{f"glance_store__{k}": v for k, v in settings.items()}))

    def command(self, prefix: str, **args: Any) -> Any:
        """A monitor command, as the ``ceph`` CLI sends it; its JSON answer."""
        cluster = rados.Rados(conffile=self.info["conf"])
        cluster.connect(timeout=30)
        try:
            ret, out, err = cluster.mon_command(
                json.dumps({"prefix": prefix, "format": "json", **args}), b"", timeout=30
            )
        finally:
            cluster.shutdown()
        assert ret == 0, f"ceph {prefix}: {err}"
        return json.loads(out) if out else None

    def full(self) -> Store:
        return self.store(self.info["full_pool"])

    def unreachable(self) -> Store:
        with socket.socket() as sock:  # a port nothing listens on once this closes
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        conf = self.tmp_path / f"unreachable-{secrets.token_hex(4)}.conf"
        conf.write_text(f"[global]\nmon host = v2:127.0.0.1:{port}\n"
                        "auth client required = none\n")  # fmt: skip
        return self.store("images", rbd_store_ceph_conf=str(conf), rados_connect_timeout=2)


# -- the contract suite's data and helpers (test_contract.py, and the drivers' own tests) -----

MiB = 1024 * 1024
SMALL = os.urandom(300_000)  # one object (Swift), a few blocks (file)
LARGE = os.urandom(2 * MiB + 300_001)  # three 1 MiB segments and an SLO manifest (Swift)


class Broken(Exception):
    """What the source stream raises half-way (the client went away)."""


class Trickle(io.RawIOBase):
    """A stream that hands out small, uneven pieces, as a socket does, and can fail or wait
    once it has handed out ``after`` bytes."""

    def __init__(
        self, data: bytes, after: int | None = None, fail: BaseException | None = None
    ) -> None:
        self.data = data
        self.after = len(data) // 2 if after is None else after
        self.fail = fail
        self.pos = 0
        self.reached = threading.Event()  # set when ``after`` bytes were handed out
        self.go = threading.Event()  # when set (or already), the stream carries on
        self.go.set()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.pos >= self.after:
            self.reached.set()
            self.go.wait(60)
            if self.fail is not None:
                raise self.fail
        size = len(self.data) if size is None or size < 0 else size
        piece = self.data[self.pos : self.pos + min(size, 99_999)]
        self.pos += len(piece)
        return piece


def read_all(store: Store, url: str, offset: int = 0, length: int | None = None) -> bytes:
    reader = store.open(url, offset, length)
    try:
        data = b"".join(reader)
        assert reader.size == len(data)
        return data
    finally:
        reader.close()


def stalled(data: bytes, fail: BaseException | None = None) -> Trickle:
    """A stream that stops after 1.5 MiB (a Swift segment is written) until ``go`` is set."""
    stream = Trickle(data, after=MiB + MiB // 2, fail=fail)
    stream.go.clear()
    return stream


@contextlib.contextmanager
def uploading(store: Store, image_id: str, stream: Trickle) -> Iterator[list]:
    """``store.add`` on a thread, stalled by ``stream`` inside the block; after the block, the
    list holds what ``add`` returned or raised."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(store.add(image_id, stream, None, "sha512"))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert stream.reached.wait(60)
        yield outcome
    finally:
        stream.go.set()
        thread.join(60)


def images_api_round_trip(api, store) -> str:
    """Upload LARGE through the Images API to ``store``, read it back whole and by range,
    delete it; the store ends empty. Returns the blob's URL (as the store listed it)."""
    image = new_image(api, LARGE)
    assert (image["status"], image["size"]) == ("active", len(LARGE))
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.status_int == 200
    assert resp.body == LARGE
    resp = api.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=1048570-1048585"})
    assert resp.status_int == 206
    assert resp.body == LARGE[1048570:1048586]
    (url,) = store.list_blobs()
    assert blob_image_id(url) == image["id"]
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert store.list_blobs() == []
    assert store.list_partials() == []
    return url
