"""``PUT /v2/images/{id}/file``: activation, and every refusal leaves the image queued."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.client import UNKNOWN_ID, client_with, stored_files

DATA = bytes(range(256)) * 40


def show(client, image_id: str) -> dict:
    return client.get(f"/v2/images/{image_id}").json


def test_upload_activates_the_image_with_size_and_hashes(api, store_dir):
    image = api.create(name="up")
    resp = api.put_file(image["id"], DATA)
    assert resp.status_int == 204
    assert resp.body == b""
    shown = show(api, image["id"])
    assert shown["status"] == "active"
    assert shown["size"] == len(DATA)
    assert shown["virtual_size"] == len(DATA)  # raw: the data is the disk
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert stored_files(store_dir) == [image["id"]]


def test_zero_byte_upload_activates(api):
    image = api.create(name="empty")
    assert api.put_file(image["id"], b"").status_int == 204
    shown = show(api, image["id"])
    assert (shown["status"], shown["size"]) == ("active", 0)
    assert shown["checksum"] == hashlib.md5(b"").hexdigest()


def test_non_inspectable_image_has_no_virtual_size(api):
    image = api.create(disk_format="ami")  # ami content has no header to read a size from
    assert api.put_file(image["id"], DATA).status_int == 204
    assert show(api, image["id"])["virtual_size"] is None


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_upload_needs_octet_stream(api, content_type, store_dir):
    image = api.create(name="x")
    headers = {"Content-Type": content_type} if content_type else {}
    resp = api.request("PUT", f"/v2/images/{image['id']}/file", raw=DATA, headers=headers)
    assert resp.status_int == 415
    assert "application/octet-stream" in resp.text
    assert show(api, image["id"])["status"] == "queued"
    assert stored_files(store_dir) == []


def test_second_upload_is_409_and_keeps_the_first_data(api):
    image = api.create(name="x")
    assert api.put_file(image["id"], DATA).status_int == 204
    resp = api.put_file(image["id"], b"other data")
    assert resp.status_int == 409
    assert "active" in resp.text
    shown = show(api, image["id"])
    assert (shown["status"], shown["size"]) == ("active", len(DATA))
    assert api.get(f"/v2/images/{image['id']}/file").body == DATA


@pytest.mark.parametrize("size", ["abc", "-1", "1.5", ""])
def test_bad_image_size_header_is_400(api, size):
    image = api.create(name="x")
    resp = api.put_file(image["id"], DATA, **{"x-openstack-image-size": size})
    assert resp.status_int == 400
    assert "Invalid or missing image size in request headers." in resp.text
    assert show(api, image["id"])["status"] == "queued"


def test_matching_image_size_header_is_accepted(api):
    image = api.create(name="x")
    resp = api.put_file(image["id"], DATA, **{"x-openstack-image-size": str(len(DATA))})
    assert resp.status_int == 204
    assert show(api, image["id"])["size"] == len(DATA)


@pytest.mark.parametrize(
    "formats",
    [
        {"disk_format": None, "container_format": None},
        {"disk_format": None},
        {"container_format": None},
    ],
)
def test_upload_without_both_formats_is_400(api, formats, store_dir):
    image = api.create(**formats)
    resp = api.put_file(image["id"], DATA)
    assert resp.status_int == 400
    assert "Properties disk_format, container_format must be set prior to saving data." in (
        resp.text
    )
    assert show(api, image["id"])["status"] == "queued"
    assert stored_files(store_dir) == []


def test_upload_to_unknown_image_is_404(api):
    assert api.put_file(UNKNOWN_ID, DATA).status_int == 404
    assert api.put_file("not-a-uuid", DATA).status_int == 404


def test_upload_to_another_projects_image(api):
    private = api.as_("p1").create(visibility="private")["id"]
    public = api.create(visibility="public", owner="p1")["id"]
    assert api.as_("p2").put_file(private, DATA).status_int == 404
    assert api.as_("p2").put_file(public, DATA).status_int == 403
    assert show(api, public)["status"] == "queued"


def test_reader_cannot_upload(api):
    image = api.as_("p1").create(name="x")["id"]
    resp = api.as_("p1", roles="reader").put_file(image, DATA)
    assert resp.status_int == 403
    assert show(api, image)["status"] == "queued"
    assert api.as_("p1").put_file(image, DATA).status_int == 204


def test_upload_over_the_size_cap_is_413_and_leaves_the_image_queued(conf, store_dir):
    client = client_with(conf, image_size_cap=100)
    image = client.create(name="big")
    resp = client.put_file(image["id"], b"x" * 101)
    assert resp.status_int == 413
    assert "The incoming image is too large" in resp.text
    shown = show(client, image["id"])
    assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
    assert stored_files(store_dir) == []
    assert client.put_file(image["id"], b"x" * 100).status_int == 204
