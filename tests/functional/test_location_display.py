"""Where the data is, as Glance shows it: ``direct_url`` with ``show_image_direct_url``,
``locations`` with ``show_multiple_locations``, neither by default; a deactivated image's
locations only to admins, staged data never."""

from __future__ import annotations

from tests.support.client import Client

OWNER = "p-owner"


def _owned(api: Client, data: bytes | None = b"data") -> tuple[Client, str]:
    owner = api.as_(OWNER)
    image = owner.create(name="where", disk_format="raw", container_format="bare")
    if data is not None:
        assert owner.put_file(image["id"], data).status_int == 204
    return owner, image["id"]


def test_by_default_no_location_is_shown(api, store_dir):
    owner, image_id = _owned(api)
    shown = owner.get(f"/v2/images/{image_id}").json
    assert "direct_url" not in shown and "locations" not in shown and "stores" not in shown
    listed = owner.get("/v2/images").json["images"][0]
    assert "direct_url" not in listed and "locations" not in listed


def test_direct_url_is_the_data_location(conf, api, store_dir):
    conf.set_override("show_image_direct_url", True)
    owner, image_id = _owned(api)
    url = f"file://{store_dir.resolve()}/{image_id}"
    assert owner.get(f"/v2/images/{image_id}").json["direct_url"] == url
    assert owner.get("/v2/images").json["images"][0]["direct_url"] == url
    assert "locations" not in owner.get(f"/v2/images/{image_id}").json
    _, queued = _owned(api, data=None)
    assert "direct_url" not in owner.get(f"/v2/images/{queued}").json


def test_multiple_locations_are_listed_with_metadata(conf, api, store_dir):
    conf.set_override("show_multiple_locations", True)
    owner, image_id = _owned(api)
    url = f"file://{store_dir.resolve()}/{image_id}"
    assert owner.get(f"/v2/images/{image_id}").json["locations"] == [{"url": url, "metadata": {}}]
    _, queued = _owned(api, data=None)
    assert owner.get(f"/v2/images/{queued}").json["locations"] == []


def test_deactivated_image_locations_only_for_admins(conf, api):
    conf.set_override("show_multiple_locations", True)
    conf.set_override("show_image_direct_url", True)
    owner, image_id = _owned(api)
    assert api.post(f"/v2/images/{image_id}/actions/deactivate").status_int == 204
    seen = owner.get(f"/v2/images/{image_id}").json
    assert seen["locations"] == [] and "direct_url" not in seen
    seen = api.get(f"/v2/images/{image_id}").json  # no identity headers: admin
    assert len(seen["locations"]) == 1 and seen["direct_url"] == seen["locations"][0]["url"]


def test_staged_data_is_no_location(conf, api):
    conf.set_override("show_multiple_locations", True)
    conf.set_override("show_image_direct_url", True)
    owner = api.as_(OWNER)
    image = owner.create(name="staged", disk_format="raw", container_format="bare")
    resp = owner.request(
        "PUT", f"/v2/images/{image['id']}/stage", raw=b"staged",
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert resp.status_int == 204
    seen = owner.get(f"/v2/images/{image['id']}").json
    assert seen["status"] == "uploading"
    assert seen["locations"] == [] and "direct_url" not in seen
