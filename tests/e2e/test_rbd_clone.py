"""Nova and Cinder on imgreg's RBD store, on a real single-node Ceph (``tools/ceph``):
``imgreg-api`` with the rbd store and ``show_image_direct_url``, and the clients' side replayed
with the ``rados``/``rbd`` bindings as their drivers do it (``tests/support/rbd_clients.py``).

* An uploaded raw image shows ``direct_url`` ``rbd://<the cluster's fsid>/images/<id>/snap``;
  Nova's ``Rbd.clone`` and Cinder's ``_is_cloneable`` accept it, and the copy-on-write clone
  (in a ``vms`` or ``volumes`` pool) reads back the uploaded bytes. While the clone exists the
  image cannot be deleted (409; it stays active and downloadable); once the clone is
  flattened, or removed, the delete succeeds and the RBD image is gone.
* Nova's direct snapshot: an image record, its data written by Nova straight into the pool
  (a flattened clone of the instance disk, with a protected ``snap``), then ``POST
  /v2/images/{id}/locations`` (API 2.17) with the data's sha512: the image becomes active
  with the hashes and size of that data and serves it; with a wrong hash it falls back to
  ``queued`` with no location, as Glance's ``location_import`` task reverts.

The clients' side is the same against Glance: these tests pass unchanged against Glance 33.0.0
(uWSGI, trusted identity headers, one rbd store, ``show_image_direct_url``).

The RBD behaviour does not depend on the database: tools/test's first pass only. The part
that does, the delete refused while clones exist, runs on every engine in
``tests/store/test_rbd.py`` (``test_images_api_refuses_to_delete_an_image_with_clones``).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.background import tool_running
from tests.support.rbd_clients import Ceph, nova_clone, nova_direct_snapshot, nova_locations
from tests.support.server import Server, create, show, upload
from tests.support.stores import RbdBackend

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

CEPH_START_TIMEOUT = 300.0
MiB = 1024 * 1024
DATA = os.urandom(3 * MiB + 12_345)  # four 1 MiB objects, the last one partly written
VMS, VOLUMES = "vms", "volumes"  # Nova's images_rbd_pool, Cinder's rbd_pool
OWNER = "5f2a0c7e1b9d4e6f8a3c2b1d0e9f8a7b"  # the project Nova snapshots for
USER = {"X-Identity-Status": "Confirmed", "X-Project-Id": OWNER, "X-User-Id": "alice",
        "X-Roles": "member,reader"}  # fmt: skip
# Nova calls the location API with the user's token and its own service token: the user's
# project and roles, plus the service role Glance looks for in either
NOVA = {**USER, "X-User-Id": "nova", "X-Roles": "member,reader,service",
        "X-Service-Roles": "service"}  # fmt: skip
TASK_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def ceph_info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``tools/ceph`` for the module, with Nova's and Cinder's pools beside ``images``."""
    with tool_running("ceph", tmp_path_factory.mktemp("ceph"), CEPH_START_TIMEOUT) as info:
        backend = RbdBackend(info, tmp_path_factory.mktemp("rbd"))
        for pool in (VMS, VOLUMES):
            backend.command("osd pool create", pool=pool, pg_num=1)
            backend.command("osd pool application enable", pool=pool, app="rbd")
        yield info


@pytest.fixture(scope="module")
def ceph(ceph_info: dict[str, Any]) -> Iterator[Ceph]:
    """The compute (or volume) host's connection to the cluster."""
    client = Ceph(ceph_info["conf"])
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def server_options(ceph_info: dict[str, Any]) -> dict[str, object]:
    return {
        "show_image_direct_url": True,
        "glance_store.default_store": "rbd",
        "glance_store.rbd_store_ceph_conf": ceph_info["conf"],
        "glance_store.rbd_store_pool": ceph_info["pool"],
        "glance_store.rbd_store_chunk_size": 1,
        "glance_store.rados_connect_timeout": 10,
    }


def uploaded(server: Server, data: bytes) -> dict[str, Any]:
    image_id = create(server)
    resp = upload(server, image_id, data)
    assert resp.status_code == 204, resp.text
    image = show(server, image_id)
    assert (image["status"], image["size"]) == ("active", len(data))
    return image


def delete(server: Server, image_id: str) -> requests.Response:
    return requests.delete(f"{server.url}/v2/images/{image_id}", timeout=60)


def download(server: Server, image_id: str, headers: dict[str, str] | None = None) -> bytes:
    resp = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=headers, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.content


def assert_kept_while_cloned(server: Server, image_id: str) -> None:
    resp = delete(server, image_id)
    assert resp.status_code == 409, resp.text
    assert show(server, image_id)["status"] == "active"
    assert download(server, image_id) == DATA


# -- clones of an uploaded image ---------------------------------------------------------------


def test_image_shows_the_rbd_snapshot_of_this_cluster(
    server: Server, ceph: Ceph, ceph_info: dict[str, Any]
) -> None:
    image = uploaded(server, DATA)
    assert ceph.fsid() == ceph_info["fsid"]
    assert image["direct_url"] == f"rbd://{ceph.fsid()}/{ceph_info['pool']}/{image['id']}/snap"
    assert ceph.read(ceph_info["pool"], image["id"], snapshot="snap") == DATA
    assert delete(server, image["id"]).status_code == 204
    assert image["id"] not in ceph.names(ceph_info["pool"])


def test_nova_clone_keeps_the_image_until_flattened(
    server: Server, ceph: Ceph, ceph_info: dict[str, Any]
) -> None:
    image = uploaded(server, DATA)
    disk = f"{uuid.uuid4()}_disk"  # Nova's name for an instance's root disk
    assert nova_clone(ceph, image, VMS, disk) == image["direct_url"]
    try:
        assert ceph.read(VMS, disk) == DATA
        assert ceph.parent_pool(VMS, disk) == ceph_info["pool"]
        assert_kept_while_cloned(server, image["id"])
        ceph.flatten(VMS, disk)  # Rbd.flatten: the disk no longer needs the image
        assert ceph.parent_pool(VMS, disk) is None
        resp = delete(server, image["id"])
        assert resp.status_code == 204, resp.text
        assert image["id"] not in ceph.names(ceph_info["pool"])
        assert ceph.read(VMS, disk) == DATA  # the flattened disk holds its own copy
    finally:
        ceph.remove(VMS, disk)


def test_cinder_clone_keeps_the_image_until_removed(
    server: Server, ceph: Ceph, ceph_info: dict[str, Any]
) -> None:
    image = uploaded(server, DATA)
    # Cinder's clone_image: the direct_url is image_location[0]; _is_cloneable, then _clone
    location = {"url": image["direct_url"]}
    assert ceph.is_cloneable(location, image)
    volume = f"volume-{uuid.uuid4()}"
    ceph.clone(location, VOLUMES, volume)
    try:
        assert ceph.read(VOLUMES, volume) == DATA
        assert_kept_while_cloned(server, image["id"])
    finally:
        ceph.remove(VOLUMES, volume)
    resp = delete(server, image["id"])
    assert resp.status_code == 204, resp.text
    assert image["id"] not in ceph.names(ceph_info["pool"])


def test_a_location_in_another_cluster_is_not_cloneable(server: Server, ceph: Ceph) -> None:
    """Of the emulation itself: the clients' rules refuse what they must."""
    image = uploaded(server, DATA)
    url = image["direct_url"]
    other = url.replace(ceph.fsid(), str(uuid.uuid4()))
    assert ceph.is_cloneable({"url": url}, image)
    assert not ceph.is_cloneable({"url": other}, image)
    assert not ceph.is_cloneable({"url": url}, {**image, "disk_format": "qcow2"})
    assert not ceph.is_cloneable({"url": url.replace("/snap", "/nosuchsnap")}, image)
    assert not ceph.is_cloneable({"url": url.rsplit("/", 1)[0]}, image)  # no snapshot
    assert [loc["url"] for loc in nova_locations({**image, "direct_url": other})] == [other]
    assert delete(server, image["id"]).status_code == 204


# -- Nova's direct snapshot: the data first, then its location --------------------------------


def snapshot_record(server: Server) -> str:
    """The image Nova's compute API creates for a snapshot: queued, no data."""
    body = {"name": "snap-of-vm", "disk_format": "raw", "container_format": "bare"}
    resp = requests.post(f"{server.url}/v2/images", json=body, headers=USER, timeout=10)
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "queued"
    return str(resp.json()["id"])


def add_location(server: Server, image_id: str, url: str, hash_value: str) -> None:
    validation = {"os_hash_algo": "sha512", "os_hash_value": hash_value}
    body: dict[str, Any] = {"url": url, "validation_data": validation}
    resp = requests.post(
        f"{server.url}/v2/images/{image_id}/locations", json=body, headers=NOVA, timeout=30
    )
    assert resp.status_code == 202, resp.text


def finished_task(server: Server, image_id: str) -> dict[str, Any]:
    """The image's ``location_import`` task, once it has succeeded or failed."""
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        resp = requests.get(f"{server.url}/v2/images/{image_id}/tasks", headers=USER, timeout=10)
        assert resp.status_code == 200, resp.text
        tasks = [t for t in resp.json()["tasks"] if t["type"] == "location_import"]
        if tasks and tasks[0]["status"] in ("success", "failure"):
            assert len(tasks) == 1, tasks
            return dict(tasks[0])
        assert time.monotonic() < deadline, f"location_import not finished: {tasks}"
        time.sleep(0.2)


def image_of(server: Server, image_id: str) -> dict[str, Any]:
    resp = requests.get(f"{server.url}/v2/images/{image_id}", headers=USER, timeout=10)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def locations_of(server: Server, image_id: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{server.url}/v2/images/{image_id}/locations", headers=NOVA, timeout=10)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


@pytest.fixture
def instance_disk(server: Server, ceph: Ceph) -> Iterator[tuple[str, bytes]]:
    """An instance booted from an uploaded image (its disk a clone in ``vms``) that has since
    written to its disk; the disk's name and what it holds. Removed, then the base image."""
    base = uploaded(server, DATA)
    disk = f"{uuid.uuid4()}_disk"
    nova_clone(ceph, base, VMS, disk)
    written = os.urandom(MiB // 2)
    with ceph.image(VMS, disk) as image:
        image.write(written, MiB + 17)
    yield disk, DATA[: MiB + 17] + written + DATA[MiB + 17 + len(written) :]
    ceph.remove(VMS, disk)
    assert delete(server, base["id"]).status_code == 204


def test_nova_direct_snapshot_activates_with_the_given_hash(
    server: Server, ceph: Ceph, ceph_info: dict[str, Any], instance_disk: tuple[str, bytes]
) -> None:
    disk, content = instance_disk
    image_id = snapshot_record(server)
    url = nova_direct_snapshot(ceph, VMS, disk, uuid.uuid4().hex, image_id)
    assert url == f"rbd://{ceph.fsid()}/{ceph_info['pool']}/{image_id}/snap"
    sha512 = hashlib.sha512(content).hexdigest()
    add_location(server, image_id, url, sha512)
    assert finished_task(server, image_id)["status"] == "success"
    image = image_of(server, image_id)
    assert image["status"] == "active"
    assert (image["os_hash_algo"], image["os_hash_value"]) == ("sha512", sha512)
    assert image["checksum"] == hashlib.md5(content).hexdigest()
    assert image["size"] == len(content)
    assert image["direct_url"] == url
    assert [loc["url"] for loc in locations_of(server, image_id)] == [url]
    assert download(server, image_id, USER) == content
    resp = delete(server, image_id)
    assert resp.status_code == 204, resp.text
    assert image_id not in ceph.names(ceph_info["pool"])


def test_nova_direct_snapshot_with_a_wrong_hash_stays_queued(
    server: Server, ceph: Ceph, ceph_info: dict[str, Any], instance_disk: tuple[str, bytes]
) -> None:
    disk, content = instance_disk
    image_id = snapshot_record(server)
    url = nova_direct_snapshot(ceph, VMS, disk, uuid.uuid4().hex, image_id)
    wrong = hashlib.sha512(content + b"!").hexdigest()
    add_location(server, image_id, url, wrong)
    assert finished_task(server, image_id)["status"] == "failure"
    image = image_of(server, image_id)
    assert image["status"] == "queued"
    assert (image["os_hash_algo"], image["os_hash_value"], image["checksum"]) == (None,) * 3
    assert "direct_url" not in image
    assert locations_of(server, image_id) == []
    resp = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=USER, timeout=10)
    assert resp.status_code == 204, resp.text  # Glance: a queued image has no data to send
    # Glance's revert pops the location, which deletes its data from the store
    assert image_id not in ceph.names(ceph_info["pool"])
    assert delete(server, image_id).status_code == 204
