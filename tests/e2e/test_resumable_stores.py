"""A tus upload cut at half ends active with the file's md5 and sha512 on each remote store:
Swift (a segmented large object), S3 (a multipart upload, on ``tools/swift``'s s3api) and RBD
(``tools/ceph``). The tuspy client's worker SIGKILLs itself in the chunk at half
(``IMGREG_FAULT=resumable_mid_chunk``); a new client process, which knows only the URL it
stored, resumes on the other node (another ``imgreg-api`` on the same database and spool).

The spool is the same whatever the store (``imgreg.store.resumable``); what these prove is
the final pass into each store: the spooled data sent once, hashed once, written once.
One test, one pair of servers over the three stores (Glance's multi-store configuration,
``X-Image-Meta-Store`` on the tus creation), first pass only, one 16 MiB image a store."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.storage.filestorage import FileStorage

from tests.e2e.test_resumable_uploads import (
    IDENTITY,
    MiB,
    durable_offset,
    launch,
    new_image,
    received,
)
from tests.support.server import Server
from tests.support.stores import RbdBackend, S3Backend, SwiftBackend

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

SIZE = 16 * MiB
CHUNK = 2 * MiB
KINDS = ("swift", "s3", "rbd")

RESUME = """
import sys
from tusclient import client
from tusclient.storage.filestorage import FileStorage
url, path, storage, chunk = sys.argv[1:5]
headers = dict(h.split("=", 1) for h in sys.argv[5:])
uploader = client.TusClient(url, headers=headers).uploader(
    path, chunk_size=int(chunk), store_url=True, url_storage=FileStorage(storage)
)
print(uploader.offset, flush=True)
uploader.upload()
"""


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "disk.raw"
    block = os.urandom(MiB)
    content = b"".join(bytes([i]) + block[1:] for i in range(SIZE // MiB))
    path.write_bytes(content)
    return path, hashlib.md5(content).hexdigest(), hashlib.sha512(content).hexdigest()


def three_stores(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """``imgreg-api`` options: stores ``swift``, ``s3`` and ``rbd`` (Glance's multi-store
    configuration), fresh containers, bucket and pool; 4 MiB segments, parts and objects, so
    the data is a large object in each."""
    name = uuid.uuid4().hex[:8]
    swift_info = request.getfixturevalue("swift_server")
    ceph = RbdBackend(request.getfixturevalue("ceph_server"), tmp_path)
    settings = {
        "swift": SwiftBackend(swift_info).settings(
            f"t{name}", swift_store_large_object_size=4, swift_store_large_object_chunk_size=4
        ),
        "s3": S3Backend(swift_info).settings(
            f"t{name}", s3_store_large_object_size=4, s3_store_large_object_chunk_size=4
        ),
        "rbd": ceph.settings(ceph.make().pool, rbd_store_chunk_size=4),
    }
    options: dict[str, Any] = {
        "enabled_backends": ",".join(f"{kind}:{kind}" for kind in KINDS),
        "glance_store.default_backend": "swift",
    }
    for kind, values in settings.items():
        options.update({f"{kind}.{key}": value for key, value in values.items()})
    return options


def test_tus_cut_at_half_resumes_into_each_store(tmp_path, clean_db, data, servers, request):
    path, md5, sha512 = data
    options = three_stores(request, tmp_path)
    first = launch(tmp_path, clean_db, env={"IMGREG_FAULT": "resumable_mid_chunk"}, **options)
    servers.append(first)
    other = launch(tmp_path, clean_db, **options)
    servers.append(other)
    for kind in KINDS:
        image = cut_and_resumed(first, other, tmp_path / f"{kind}-urls.json", path, kind)
        assert (image["status"], image["size"]) == ("active", SIZE)
        assert (image["checksum"], image["os_hash_value"]) == (md5, sha512)
        assert image["stores"] == kind
        body = requests.get(
            f"{other.url}/v2/images/{image['id']}/file", headers=IDENTITY, timeout=60, stream=True
        )
        got = hashlib.sha512()
        for block in body.iter_content(MiB):
            got.update(block)
        assert got.hexdigest() == sha512  # read back from that store
    assert "Traceback" not in other.log()


def cut_and_resumed(
    first: Server, other: Server, storage: Path, path: Path, kind: str
) -> dict[str, Any]:
    """Into ``kind``: the worker of ``first`` killed at half, a new client on ``other``; the
    image as ``other`` shows it then."""
    headers = {**IDENTITY, "X-Image-Meta-Store": kind}
    image_id = new_image(first)
    first_before, other_before = received(first), received(other)
    uploader = tus_client.TusClient(
        f"{first.url}/v2/images/{image_id}/file", headers=headers
    ).uploader(str(path), chunk_size=CHUNK, store_url=True, url_storage=FileStorage(str(storage)))
    with pytest.raises((TusCommunicationError, TusUploadFailed, requests.RequestException)):
        uploader.upload()  # the worker SIGKILLs itself in the chunk at half
    assert uploader.url is not None
    session = uploader.url.rsplit("/", 1)[1]
    # the client is gone too: a new process, on the other node, with what it stored
    moved = f"{other.url}/v2/images/{image_id}/file/uploads/{session}"
    uploader.set_url(moved)  # its URL storage now names the other node (the balancer's turn)
    durable = durable_offset(other, moved)
    assert durable == SIZE // 2
    args = [f"{k}={v}" for k, v in headers.items()]
    resumed = subprocess.run(
        [sys.executable, "-c", RESUME, f"{other.url}/v2/images/{image_id}/file", str(path),
         str(storage), str(CHUNK), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert int(resumed.stdout.split()[0]) == durable  # it started where the server was
    assert received(other) - other_before == SIZE - durable
    assert received(first) - first_before <= durable + CHUNK
    shown = requests.get(f"{other.url}/v2/images/{image_id}", headers=IDENTITY, timeout=10)
    return dict(shown.json())
