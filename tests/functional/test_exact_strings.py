"""Strings are compared exactly, on every database: two keys that differ by case, by an accent
or by a trailing space are two keys (as PostgreSQL and SQLite compare them). MariaDB compared
them in ``utf8mb4_general_ci`` until migration 0006 made every string column
``utf8mb4_nopad_bin``; these tests are the findings that comparison let through."""

from __future__ import annotations

import urllib.parse
from typing import Any

from tests.support.client import client_with, listed_ids

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
# Four property names (and tags) that are one key to utf8mb4_general_ci, and to utf8mb4_bin
# the first and the last (PAD SPACE).
VARIANTS = ["foo", "FOO", "f\u00f6o", "foo "]


def patch(client, image_id: str, ops: list[dict[str, Any]]):
    return client.request("PATCH", f"/v2/images/{image_id}", body=ops, headers=PATCH)


def q(**params: str) -> str:
    return "?" + urllib.parse.urlencode(params)


def test_a_case_variant_filter_confirms_no_admin_only_property(conf, tmp_path):
    rules = tmp_path / "protections.conf"
    rules.write_text(
        "[^x_admin_.*]\ncreate = admin\nread = admin\nupdate = admin\ndelete = admin\n\n"
        "[.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"
    )
    admin = client_with(conf, property_protection_file=str(rules))
    image = admin.create(name="secret", visibility="public", x_admin_secret="v")
    member = admin.as_("p1")
    assert listed_ids(member) == [image["id"]]
    # X_ADMIN_SECRET is not x_admin_secret (and not protected): no image has it
    for name in ("X_ADMIN_SECRET", "x_ADMIN_secret"):
        assert listed_ids(member, q(**{name: "v"})) == []
    assert listed_ids(admin, q(x_admin_secret="V")) == []
    assert listed_ids(admin, q(x_admin_secret="v")) == [image["id"]]


def test_a_project_differing_by_case_lists_none_of_the_others_private_images(api):
    upper = api.as_("ProjA")
    private = upper.create(name="private", visibility="private")
    shared = upper.create(name="shared", visibility="shared")
    lower = api.as_("proja")
    assert lower.get(f"/v2/images/{private['id']}").status_int == 404
    assert listed_ids(lower) == []
    for visibility in ("private", "shared", "all"):
        assert listed_ids(lower, q(visibility=visibility)) == []
    assert listed_ids(lower, q(owner="ProjA")) == []
    assert sorted(listed_ids(upper)) == sorted([private["id"], shared["id"]])
    assert listed_ids(api, q(owner="proja")) == []  # the admin: no image has that owner


def test_a_member_differing_by_case_is_another_project(api):
    owner = api.as_("p1")
    image = owner.create(name="shared", visibility="shared")
    resp = owner.post(f"/v2/images/{image['id']}/members", {"member": "P2"})
    assert resp.status_int == 200, resp.text
    lower = api.as_("p2")
    assert lower.get(f"/v2/images/{image['id']}").status_int == 404
    assert listed_ids(lower, q(member_status="all")) == []
    assert lower.get(f"/v2/images/{image['id']}/members/P2").status_int == 404
    # and p2 may be added beside P2: two members
    resp = owner.post(f"/v2/images/{image['id']}/members", {"member": "p2"})
    assert resp.status_int == 200, resp.text
    members = owner.get(f"/v2/images/{image['id']}/members").json["members"]
    assert sorted(m["member_id"] for m in members) == ["P2", "p2"]


def test_properties_differing_by_case_accent_or_trailing_space_are_four(api):
    image = api.create(name="props", foo="0")
    ops = [{"op": "add", "path": f"/{name}", "value": str(i)} for i, name in enumerate(VARIANTS)]
    resp = patch(api, image["id"], ops[1:])
    assert resp.status_int == 200, resp.text
    shown = api.get(f"/v2/images/{image['id']}").json
    assert [shown.get(name) for name in VARIANTS] == ["0", "1", "2", "3"]
    for i, name in enumerate(VARIANTS):
        assert listed_ids(api, q(**{name: str(i)})) == [image["id"]]
        assert listed_ids(api, q(**{name: str(i + 1)})) == []
    resp = patch(api, image["id"], [{"op": "remove", "path": "/FOO"}])
    assert resp.status_int == 200, resp.text
    shown = api.get(f"/v2/images/{image['id']}").json
    assert [name for name in VARIANTS if name in shown] == ["foo", "f\u00f6o", "foo "]


def test_a_property_value_is_matched_exactly(api):
    image = api.create(name="distro", os_distro="ubuntu")
    assert listed_ids(api, q(os_distro="ubuntu")) == [image["id"]]
    for value in ("Ubuntu", "\u00fcbuntu", "ubuntu "):
        assert listed_ids(api, q(os_distro=value)) == []


def test_tags_differing_by_case_accent_or_trailing_space_are_four_tags(api):
    resp = api.post(
        "/v2/images", {"name": "tags", "disk_format": "raw", "container_format": "bare",
                       "tags": ["Tag", "tag"]}
    )  # fmt: skip
    assert resp.status_int == 201, resp.text
    image_id = resp.json["id"]
    assert sorted(resp.json["tags"]) == ["Tag", "tag"]
    for tag in ("t\u00e4g", "tag "):
        resp = api.request("PUT", f"/v2/images/{image_id}/tags/{urllib.parse.quote(tag)}")
        assert resp.status_int == 204, resp.text
    shown = api.get(f"/v2/images/{image_id}").json
    assert sorted(shown["tags"]) == sorted(["Tag", "tag", "t\u00e4g", "tag "])
    assert listed_ids(api, q(tag="TAG")) == []
    assert listed_ids(api, q(tag="Tag")) == [image_id]
    assert api.delete(f"/v2/images/{image_id}/tags/tag").status_int == 204
    assert sorted(api.get(f"/v2/images/{image_id}").json["tags"]) == sorted(
        ["Tag", "t\u00e4g", "tag "]
    )


def test_names_and_formats_are_matched_exactly(api):
    image = api.create(name="Alpha")
    assert listed_ids(api, q(name="Alpha")) == [image["id"]]
    for name in ("alpha", "ALPHA", "\u00c1lpha", "Alpha "):
        assert listed_ids(api, q(name=name)) == []
    assert listed_ids(api, q(disk_format="RAW")) == []
    assert listed_ids(api, q(status="QUEUED")) == []
