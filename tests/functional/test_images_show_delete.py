"""``GET`` and ``DELETE /v2/images/{id}``: visibility hides, ownership forbids."""

from __future__ import annotations

import pytest

from tests.support.client import UNKNOWN_ID, listed_ids, new_image, stored_files


def test_show_returns_the_image(api):
    image = api.create(name="shown", os_distro="debian", tags=["t"])
    resp = api.get(f"/v2/images/{image['id']}")
    assert resp.status_int == 200
    assert resp.content_type == "application/json"
    assert resp.json == image


def test_show_accepts_the_upper_case_form_of_the_id(api):
    image = api.create(name="x")
    assert api.get(f"/v2/images/{image['id'].upper()}").json["id"] == image["id"]


@pytest.mark.parametrize("image_id", [UNKNOWN_ID, "not-a-uuid", "1234"])
def test_show_unknown_or_malformed_id_is_404(api, image_id):
    resp = api.get(f"/v2/images/{image_id}")
    assert resp.status_int == 404
    assert f"No image found with ID {image_id}" in resp.text


def test_other_projects_private_and_shared_images_are_404_not_403(api):
    private = api.as_("p1").create(visibility="private")["id"]
    shared = api.as_("p1").create(visibility="shared")["id"]
    for image_id in (private, shared):
        resp = api.as_("p2").get(f"/v2/images/{image_id}")
        assert resp.status_int == 404
        assert f"No image found with ID {image_id}" in resp.text
        assert api.as_("p1").get(f"/v2/images/{image_id}").status_int == 200
        assert api.get(f"/v2/images/{image_id}").status_int == 200


def test_public_and_community_images_are_visible_to_everyone(api):
    public = api.create(visibility="public", owner="p1")["id"]
    community = api.as_("p1").create(visibility="community")["id"]
    for image_id in (public, community):
        assert api.as_("p2", roles="reader").get(f"/v2/images/{image_id}").status_int == 200


def test_show_refuses_a_body(api):
    image = api.create(name="x")
    resp = api.request("GET", f"/v2/images/{image['id']}", raw=b'{"a": 1}')
    assert resp.status_int == 400
    assert "A body is not expected with this request." in resp.text


def test_delete_is_204_then_the_image_is_gone(api):
    image = api.create(name="doomed")
    resp = api.delete(f"/v2/images/{image['id']}")
    assert resp.status_int == 204
    assert resp.body == b""
    assert api.get(f"/v2/images/{image['id']}").status_int == 404
    again = api.delete(f"/v2/images/{image['id']}")
    assert again.status_int == 404
    assert listed_ids(api) == []


@pytest.mark.parametrize("image_id", [UNKNOWN_ID, "not-a-uuid"])
def test_delete_unknown_is_404(api, image_id):
    assert api.delete(f"/v2/images/{image_id}").status_int == 404


def test_delete_refuses_a_body(api):
    image = api.create(name="x")
    resp = api.request("DELETE", f"/v2/images/{image['id']}", raw=b"{}")
    assert resp.status_int == 400
    assert api.get(f"/v2/images/{image['id']}").status_int == 200


def test_protected_image_cannot_be_deleted(api):
    image = api.create(name="keep", protected=True)
    resp = api.delete(f"/v2/images/{image['id']}")
    assert resp.status_int == 403
    assert f"Image {image['id']} is protected and cannot be deleted." in resp.text
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "queued"


def test_deleting_another_projects_visible_image_is_403(api):
    public = api.create(visibility="public", owner="p1")["id"]
    community = api.as_("p1").create(visibility="community")["id"]
    for image_id in (public, community):
        assert api.as_("p2").delete(f"/v2/images/{image_id}").status_int == 403
        assert api.get(f"/v2/images/{image_id}").status_int == 200


def test_deleting_another_projects_invisible_image_is_404(api):
    private = api.as_("p1").create(visibility="private")["id"]
    resp = api.as_("p2").delete(f"/v2/images/{private}")
    assert resp.status_int == 404
    assert api.as_("p1").get(f"/v2/images/{private}").status_int == 200


def test_reader_cannot_delete_its_projects_image(api):
    image = api.as_("p1").create(name="x")["id"]
    resp = api.as_("p1", roles="reader").delete(f"/v2/images/{image}")
    assert resp.status_int == 403
    assert "delete_image" in resp.text
    assert api.as_("p1").delete(f"/v2/images/{image}").status_int == 204


def test_admin_deletes_any_image(api):
    private = api.as_("p1").create(visibility="private")["id"]
    assert api.delete(f"/v2/images/{private}").status_int == 204
    assert api.as_("p1").get(f"/v2/images/{private}").status_int == 404


def test_deleting_an_active_image_removes_its_data(api, store_dir):
    image = new_image(api, b"payload" * 100)
    other = new_image(api, b"other")
    assert stored_files(store_dir) == sorted([image["id"], other["id"]])
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert stored_files(store_dir) == [other["id"]]
    assert api.get(f"/v2/images/{image['id']}/file").status_int == 404
