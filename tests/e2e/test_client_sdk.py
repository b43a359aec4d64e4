"""Acceptance: openstacksdk against a live ``imgreg-api``.

``openstack.connect(auth_type="none", endpoint=url)`` acts as an administrator; a project
acts through a keystoneauth session that adds the noauth pipeline's identity headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keystoneauth1.noauth
import keystoneauth1.session
import openstack
import openstack.connection
import openstack.exceptions
import pytest

from tests.e2e.clients import api_get, image_json, md5, project_headers, sha512, write_image

# tools/test's first pass only (SQLite, ``first_pass``): what the SDK's calls ask of the database is
# tested on every engine by tests/functional/ (the same API calls through the app)
pytestmark = [
    pytest.mark.first_pass,
    pytest.mark.e2e,
    # openstacksdk's RemovedInSDK60Warning (a PendingDeprecationWarning) fires from inside
    # the SDK itself (InfluxDB support, its own find_image calls); DeprecationWarning is
    # already ignored project-wide
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


def admin(server: Any) -> openstack.connection.Connection:
    return openstack.connect(auth_type="none", endpoint=server.url)


def as_project(server: Any, project: str) -> openstack.connection.Connection:
    session = keystoneauth1.session.Session(
        auth=keystoneauth1.noauth.NoAuth(endpoint=server.url),
        additional_headers=project_headers(project),
    )
    return openstack.connection.Connection(session=session, image_endpoint_override=server.url)


def names(images: Any) -> set[str]:
    return {image.name for image in images}


def test_sdk_upload_list_download_update_tags_delete(server, tmp_path: Path):
    conn = admin(server)
    source = tmp_path / "disk.qcow2"
    qcow2 = write_image(source, "qcow2", data_mib=3)

    # the cloud layer: looks the name up first (hidden images too), uploads, waits
    image = conn.create_image(
        "sdk-qcow2",
        filename=str(source),
        disk_format="qcow2",
        container_format="bare",
        tags=["gold"],
        meta={"os_distro": "cirros"},
        validate_checksum=True,
        wait=True,
    )
    assert image.status == "active"
    assert (image.size, image.checksum, image.hash_value) == (len(qcow2), md5(qcow2), sha512(qcow2))
    assert image.tags == ["gold"]
    stored = image_json(server, image.id)
    assert (stored["disk_format"], stored["os_distro"]) == ("qcow2", "cirros")
    assert stored["owner_specified.openstack.object"] == "images/sdk-qcow2"
    assert stored["owner_specified.openstack.md5"] == md5(qcow2)
    # the same name and content again: the SDK finds the image, creates nothing
    again = conn.create_image("sdk-qcow2", filename=str(source), validate_checksum=True, wait=True)
    assert again.id == image.id

    # the proxy layer: create with data (PUT /file)
    raw = write_image(tmp_path / "disk.raw", "raw", data_mib=2)
    created = conn.image.create_image(
        name="sdk-raw",
        data=raw,
        disk_format="raw",
        container_format="bare",
        visibility="public",
        min_ram=256,
    )
    raw_image = conn.image.get_image(created.id)
    assert (raw_image.status, raw_image.visibility, raw_image.min_ram) == ("active", "public", 256)
    assert (raw_image.size, raw_image.checksum) == (len(raw), md5(raw))
    assert (raw_image.hash_algo, raw_image.hash_value) == ("sha512", sha512(raw))
    queued = conn.image.create_image(name="sdk-queued", disk_format="raw", container_format="bare")
    assert conn.image.get_image(queued).status == "queued"

    # images(**filters)
    assert names(conn.image.images()) == {"sdk-qcow2", "sdk-raw", "sdk-queued"}
    assert names(conn.image.images(name="sdk-raw")) == {"sdk-raw"}
    assert names(conn.image.images(visibility="public")) == {"sdk-raw"}
    assert names(conn.image.images(tag="gold")) == {"sdk-qcow2"}
    assert names(conn.image.images(status="queued")) == {"sdk-queued"}
    assert names(conn.image.images(size_min=len(qcow2))) == {"sdk-qcow2"}
    by_name = ["sdk-qcow2", "sdk-queued", "sdk-raw"]
    # limit=1: the SDK follows three "next" links, each image comes once
    assert [i.name for i in conn.image.images(sort_key="name", sort_dir="asc", limit=1)] == by_name
    assert [i.name for i in conn.image.images(sort="name:desc")] == by_name[::-1]
    assert names(conn.image.images(is_hidden=True)) == set()

    # download: in memory, streamed, to a file; the SDK checks the md5 it is sent
    response = conn.image.download_image(raw_image)
    assert response.content == raw
    assert response.headers["Content-MD5"] == md5(raw)
    streamed = conn.image.download_image(raw_image, stream=True)
    body = b"".join(streamed.iter_content(chunk_size=64 * 1024))
    assert body == raw
    assert (md5(body), sha512(body)) == (raw_image.checksum, raw_image.hash_value)
    out = tmp_path / "out.qcow2"
    conn.image.download_image(image, output=str(out))
    assert out.read_bytes() == qcow2

    # update_image: base attributes and an extra property
    updated = conn.image.update_image(
        raw_image, name="sdk-renamed", min_disk=2, hw_rng_model="virtio", team="infra"
    )
    assert (updated.name, updated.min_disk, updated.hw_rng_model) == ("sdk-renamed", 2, "virtio")
    assert updated.properties["team"] == "infra"
    stored = image_json(server, raw_image.id)
    assert (stored["name"], stored["hw_rng_model"], stored["team"]) == (
        "sdk-renamed",
        "virtio",
        "infra",
    )

    # tags
    conn.image.add_tag(raw_image, "red")
    conn.image.add_tag(raw_image, "blue")
    assert sorted(conn.image.get_image(raw_image).tags) == ["blue", "red"]
    conn.image.remove_tag(raw_image, "red")
    assert conn.image.get_image(raw_image).tags == ["blue"]

    # delete
    for item in (image, raw_image, queued):
        conn.image.delete_image(item)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.image.get_image(image.id)
    assert conn.image.find_image("sdk-renamed") is None
    assert list(conn.image.images()) == []
    assert not (server.store_dir / image.id).exists()


def test_sdk_members(server):
    conn = admin(server)
    owner, member = "proj-owner", "proj-member"
    image = conn.image.create_image(
        name="shared", disk_format="raw", container_format="bare", visibility="shared", owner=owner
    )
    assert conn.image.get_image(image).owner == owner
    guest = as_project(server, member)

    added = conn.image.add_member(image, member_id=member)
    assert (added.member_id, added.status) == (member, "pending")
    assert [(m.member_id, m.status) for m in conn.image.members(image)] == [(member, "pending")]
    assert names(guest.image.images()) == set()
    assert names(guest.image.images(member_status="pending")) == {"shared"}

    # the member project accepts
    accepted = guest.image.update_member(member, image, status="accepted")
    assert accepted.status == "accepted"
    assert guest.image.get_member(member, image).status == "accepted"
    assert names(guest.image.images()) == {"shared"}
    assert guest.image.get_image(image.id).name == "shared"
    # a member cannot change the image nor the membership
    with pytest.raises(openstack.exceptions.ForbiddenException):
        guest.image.update_image(image, name="mine")
    with pytest.raises(openstack.exceptions.ForbiddenException):
        guest.image.add_member(image, member_id="proj-third")
    # the owner project sees the status it chose
    owner_conn = as_project(server, owner)
    assert [(m.member_id, m.status) for m in owner_conn.image.members(image)] == [
        (member, "accepted")
    ]

    conn.image.remove_member(member, image)
    assert list(conn.image.members(image)) == []
    assert names(guest.image.images()) == set()
    with pytest.raises(openstack.exceptions.NotFoundException):
        guest.image.get_image(image.id)
    assert api_get(server, f"/v2/images/{image.id}", member).status_code == 404

    conn.image.delete_image(image)
    assert conn.image.find_image(image.id) is None
