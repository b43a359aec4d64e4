"""An image id is matched case-insensitively: the upper-case form of an existing UUID is the
same image for every operation (Glance 33 created a second image for it). Show and create are
in ``test_images_show_delete.py`` / ``test_images_create.py``; the rest of the life cycle,
through the upper-case form only, is here."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.client import stored_files

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


@pytest.fixture
def image(api):
    return api.create(name="case")


def test_patch_through_the_upper_case_id(api, image):
    upper = image["id"].upper()
    ops = [{"op": "add", "path": "/colour", "value": "blue"}]
    resp = api.request("PATCH", f"/v2/images/{upper}", body=ops, headers=PATCH)
    assert resp.status_int == 200, resp.text
    assert resp.json["id"] == image["id"]
    assert api.get(f"/v2/images/{image['id']}").json["colour"] == "blue"


def test_upload_and_download_through_the_upper_case_id(api, image, store_dir):
    upper = image["id"].upper()
    assert api.put_file(upper, b"case data").status_int == 204
    shown = api.get(f"/v2/images/{image['id']}").json
    assert (shown["status"], shown["checksum"]) == ("active", hashlib.md5(b"case data").hexdigest())
    assert stored_files(store_dir) == [image["id"]]  # one blob, under the canonical id
    assert api.get(f"/v2/images/{upper}/file").body == b"case data"
    again = api.put_file(image["id"], b"other")  # the same image: already active
    assert again.status_int == 409


def test_delete_through_the_upper_case_id(api, image, store_dir):
    assert api.put_file(image["id"], b"gone soon").status_int == 204
    assert api.delete(f"/v2/images/{image['id'].upper()}").status_int == 204
    assert api.get(f"/v2/images/{image['id']}").status_int == 404
    assert api.get(f"/v2/images/{image['id'].upper()}").status_int == 404
    assert stored_files(store_dir) == []


def test_tags_and_members_through_the_upper_case_id(api, image):
    upper = image["id"].upper()
    assert api.request("PUT", f"/v2/images/{upper}/tags/t1").status_int == 204
    assert api.get(f"/v2/images/{image['id']}").json["tags"] == ["t1"]
    listed = api.get(f"/v2/images/{upper}/members")
    assert listed.status_int == 200, listed.text


def test_only_one_image_exists_whatever_the_case(api, image):
    for form in (image["id"].upper(), image["id"].title()):
        assert api.post("/v2/images", {"id": form}).status_int == 409
    ids = [i["id"] for i in api.get("/v2/images").json["images"]]
    assert ids == [image["id"]]
