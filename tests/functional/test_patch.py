"""PATCH /v2/images/{id}: Glance's JSON-patch dialects, all-or-nothing."""

from __future__ import annotations

import pytest

from tests.support.images import qcow2

V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"


def patch(client, image_id, ops, media_type=V21):
    return client.request(
        "PATCH", f"/v2/images/{image_id}", body=ops, headers={"Content-Type": media_type}
    )


@pytest.fixture
def image(api):
    return api.create(name="orig", os_distro="ubuntu", tags=["a"])


def test_replace_add_remove_base_extra_and_tags(api, image, notifications):
    resp = patch(
        api,
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": "new"},
            {"op": "add", "path": "/os_version", "value": "24.04"},
            {"op": "replace", "path": "/os_distro", "value": "debian"},
            {"op": "add", "path": "/min_ram", "value": 512},
            {"op": "replace", "path": "/tags", "value": ["x", "y", "x"]},
            {"op": "add", "path": "/a~1b", "value": "slash"},
        ],
    )
    assert resp.status_int == 200, resp.text
    body = resp.json
    assert (body["name"], body["os_version"], body["os_distro"]) == ("new", "24.04", "debian")
    assert body["min_ram"] == 512
    assert sorted(body["tags"]) == ["x", "y"]
    assert body["a/b"] == "slash"
    shown = api.get(f"/v2/images/{image['id']}").json
    assert shown["name"] == "new" and shown["a/b"] == "slash" and shown["os_version"] == "24.04"
    assert notifications[-1]["event_type"] == "image.update"
    resp = patch(api, image["id"], [{"op": "remove", "path": "/os_distro"}])
    assert resp.status_int == 200 and "os_distro" not in resp.json
    assert "os_distro" not in api.get(f"/v2/images/{image['id']}").json


def test_name_may_be_set_to_null(api, image):
    resp = patch(api, image["id"], [{"op": "replace", "path": "/name", "value": None}])
    assert resp.status_int == 200 and resp.json["name"] is None


def test_v20_dialect(api, image):
    resp = patch(api, image["id"], [{"replace": "/name", "value": "v20"}], V20)
    assert resp.status_int == 200 and resp.json["name"] == "v20"
    resp = patch(api, image["id"], [{"add": "/os_distro", "value": "x"}], V20)
    assert resp.status_int == 409
    resp = patch(api, image["id"], [{"op": "add", "path": "/os_distro", "value": "x"}], V21)
    assert resp.status_int == 200 and resp.json["os_distro"] == "x"


@pytest.mark.parametrize("media_type", ["application/json", "application/json-patch+json", ""])
def test_other_media_types_get_415_with_accept_patch(api, image, media_type):
    resp = patch(api, image["id"], [], media_type)
    assert resp.status_int == 415
    assert resp.headers["Accept-Patch"] == f"{V20}, {V21}"


@pytest.mark.parametrize(
    ("ops", "status", "text"),
    [
        ([{"op": "replace", "path": "/status", "value": "active"}], 403, "read-only"),
        ([{"op": "replace", "path": "/id", "value": "x"}], 403, "read-only"),
        ([{"op": "add", "path": "/checksum", "value": "x"}], 403, "read-only"),
        ([{"op": "remove", "path": "/self"}], 403, "read-only"),
        ([{"op": "add", "path": "/location", "value": "x"}], 403, "reserved"),
        ([{"op": "add", "path": "/os_glance_x", "value": "x"}], 403, "reserved"),
        ([{"op": "add", "path": "/deleted", "value": "x"}], 403, "reserved"),
        ([{"op": "remove", "path": "/name"}], 403, "may not be removed"),
        ([{"op": "replace", "path": "/nosuch", "value": "x"}], 409, "does not exist"),
        ([{"op": "remove", "path": "/nosuch"}], 409, "does not exist"),
        ([{"op": "replace", "path": "/protected", "value": "true"}], 400, "schema"),
        ([{"op": "add", "path": "/foo", "value": 1}], 400, "schema"),
        ([{"op": "replace", "path": "/visibility", "value": "everyone"}], 400, "schema"),
        ([{"op": "replace", "path": "/kernel_id", "value": "notauuid"}], 400, "schema"),
        ([{"op": "replace", "path": "/name", "value": "n" * 256}], 400, "schema"),
        ([{"op": "replace", "path": "/min_ram", "value": -1}], 400, "negative"),
        ([{"op": "replace", "path": "/min_disk", "value": 2**31}], 400, "out of range"),
        ([{"op": "move", "path": "/name", "from": "/x"}], 400, "Invalid operation"),
        ([{"op": "replace", "path": "/name"}], 400, "value"),
        ([{"op": "replace", "value": "x"}], 400, "path"),
        ([{"op": "add", "path": "/tags/-", "value": "x"}], 400, "JSON pointer"),
        ([{"op": "add", "path": "/a/b", "value": "x"}], 400, "JSON pointer"),
        ([{"op": "add", "path": "name", "value": "x"}], 400, "JSON pointer"),
        ([{"op": "replace", "path": "/name", "value": "\U0001f600"}], 400, "4 byte"),
        (["replace"], 400, "JSON objects"),
        ({"op": "replace"}, 400, "JSON array"),
    ],
)
def test_refusals_change_nothing(api, image, ops, status, text):
    resp = patch(
        api, image["id"], [{"op": "replace", "path": "/name", "value": "changed"}, *ops]
        if isinstance(ops, list) else ops,
    )  # fmt: skip
    assert resp.status_int == status, resp.text
    assert text in resp.text
    shown = api.get(f"/v2/images/{image['id']}").json
    assert shown["name"] == "orig"
    assert shown["updated_at"] == image["updated_at"]


def test_malformed_json_is_400(api, image):
    resp = api.request(
        "PATCH", f"/v2/images/{image['id']}", raw=b"[{", headers={"Content-Type": V21}
    )
    assert resp.status_int == 400 and "Malformed JSON" in resp.text


def test_formats_change_only_while_queued(api):
    image = api.create(name="f")
    ok = patch(api, image["id"], [{"op": "replace", "path": "/disk_format", "value": "qcow2"}])
    assert ok.status_int == 200 and ok.json["disk_format"] == "qcow2"
    assert api.put_file(image["id"], qcow2(b"data")).status_int == 204
    resp = patch(api, image["id"], [{"op": "replace", "path": "/disk_format", "value": "raw"}])
    assert resp.status_int == 403 and "only replaced for a queued image" in resp.text
    resp = patch(api, image["id"], [{"op": "replace", "path": "/name", "value": "still ok"}])
    assert resp.status_int == 200


def test_owner_and_visibility_rules_for_non_admins(api):
    member = api.as_("p1")
    image = member.create(name="mine")
    resp = patch(member, image["id"], [{"op": "replace", "path": "/owner", "value": "p2"}])
    assert resp.status_int == 403
    resp = patch(member, image["id"], [{"op": "replace", "path": "/visibility", "value": "public"}])
    assert resp.status_int == 403
    resp = patch(
        member, image["id"], [{"op": "replace", "path": "/visibility", "value": "community"}]
    )
    assert resp.status_int == 200 and resp.json["visibility"] == "community"
    resp = patch(api, image["id"], [{"op": "replace", "path": "/owner", "value": "p2"}])
    assert resp.status_int == 200 and resp.json["owner"] == "p2"


def test_other_projects_images_403_when_visible_404_when_not(api):
    public = api.create(name="pub", visibility="public", owner="p1")
    private = api.create(name="priv", visibility="private", owner="p1")
    stranger = api.as_("p2")
    op = [{"op": "replace", "path": "/name", "value": "x"}]
    assert patch(stranger, public["id"], op).status_int == 403
    assert patch(stranger, private["id"], op).status_int == 404
    assert patch(api.as_("p2", roles="reader"), public["id"], op).status_int == 403


def test_a_reader_may_not_patch_even_what_changes_nothing(api, notifications):
    """Glance checks ``modify_image`` for each operation, not for the difference it makes."""
    image = api.as_("p1").create(name="same")
    notifications.clear()
    op = [{"op": "replace", "path": "/name", "value": "same"}]
    assert patch(api.as_("p1", roles="reader"), image["id"], op).status_int == 403
    assert notifications == []
    assert patch(api.as_("p1"), image["id"], op).status_int == 200


def test_empty_patch_returns_image_unchanged(api, image):
    resp = patch(api, image["id"], [])
    assert resp.status_int == 200 and resp.json["updated_at"] == image["updated_at"]


def test_property_quota_applies_to_patch(conf, api):
    conf.set_override("image_property_quota", 1)
    image = api.create(name="q")
    ops = [{"op": "add", "path": "/a", "value": "1"}, {"op": "add", "path": "/b", "value": "2"}]
    resp = patch(api, image["id"], ops)
    assert resp.status_int == 413
    assert "a" not in api.get(f"/v2/images/{image['id']}").json
